// The module's actions: each is one call of Switchyard's API. A refusal is
// logged with the server's sentence and thrown, so Companion shows it too.

'use strict'

const seg = encodeURIComponent

function sourceChoices(state, withBlack) {
	const list = state.sourceNames().map((n) => ({ id: n, label: n }))
	if (withBlack) list.push({ id: 'black', label: 'black' })
	return list
}

function choices(names) {
	return names.map((n) => ({ id: n, label: n }))
}

function dropdown(id, label, list) {
	return { type: 'dropdown', id, label, choices: list, default: list.length ? list[0].id : '', allowCustom: true }
}

function mode(id, label, modes) {
	return { type: 'dropdown', id, label, choices: choices(modes), default: modes[0] }
}

/**
 * actions returns the action definitions over sy (the module: its state,
 * its API and its host); the choices follow the show's sources, keyers,
 * outputs and macros.
 */
function actions(sy) {
	const st = sy.state
	const call = (method, path, body) => sy.call(method, path, body)
	const text = async (ctx, s) => (ctx && ctx.parseVariablesInString ? ctx.parseVariablesInString(String(s ?? '')) : String(s ?? ''))
	const keyers = choices(st.keyers.map((k) => k.id))
	const lowerThirds = choices(st.keyers.filter((k) => k.type === 'lowerthird').map((k) => k.id))
	const outputs = choices([...st.outputs.keys()].sort())
	const audioSources = [...sourceChoices(st, false), { id: 'master', label: 'master' }]
	return {
		program: {
			name: 'Program: cut a source to program',
			options: [dropdown('source', 'Source', sourceChoices(st, true))],
			callback: (a) => call('POST', '/program', { source: a.options.source }),
		},
		preview: {
			name: 'Preview: select the next source',
			options: [dropdown('source', 'Source', sourceChoices(st, true))],
			callback: (a) => call('POST', '/preview', { source: a.options.source }),
		},
		cut: { name: 'CUT: swap preview and program', options: [], callback: () => call('POST', '/cut') },
		auto: {
			name: 'AUTO: transition preview to program',
			options: [
				mode('type', 'Type', ['default', 'mix', 'dip', 'wipe']),
				{ type: 'number', id: 'duration_ms', label: 'Duration (ms; 0: the default transition’s)', default: 0, min: 0, max: 10000 },
				{ ...mode('direction', 'Wipe direction', ['left', 'right', 'up', 'down', 'circle']), isVisible: (o) => o.type === 'wipe' },
				{ type: 'textinput', id: 'color', label: 'Dip colour', default: 'black', isVisible: (o) => o.type === 'dip' },
			],
			callback: (a) => {
				const o = a.options
				if (!o.type || o.type === 'default') return call('POST', '/auto')
				const body = { type: o.type }
				if (Number(o.duration_ms) > 0) body.duration_ms = Number(o.duration_ms)
				if (o.type === 'wipe' && o.direction) body.direction = o.direction
				if (o.type === 'dip' && o.color) body.color = o.color
				return call('POST', '/auto', body)
			},
		},
		ftb: { name: 'FTB: fade to black, or back', options: [], callback: () => call('POST', '/ftb') },
		tbar: {
			name: 'T-bar: set the position',
			options: [{ type: 'number', id: 'position', label: 'Position (%; 100 finishes the transition)', default: 50, min: 0, max: 100, range: true }],
			callback: (a) => call('POST', '/transition/position', { position: Math.min(100, Math.max(0, Number(a.options.position))) / 100 }),
		},
		keyer: {
			name: 'Keyer: on, off or toggle',
			options: [dropdown('keyer', 'Keyer', keyers), mode('mode', 'Do', ['toggle', 'on', 'off'])],
			callback: (a) => {
				const id = String(a.options.keyer)
				let on = a.options.mode === 'on'
				if (a.options.mode === 'toggle') {
					const k = st.keyer(id)
					on = !(k && k.on)
				}
				return call('POST', `/keyers/${seg(id)}/${on ? 'on' : 'off'}`)
			},
		},
		lower_third: {
			name: 'Lower third: set title and subtitle',
			options: [
				dropdown('keyer', 'Lower-third keyer', lowerThirds),
				{ type: 'textinput', id: 'title', label: 'Title', default: '', useVariables: true },
				{ type: 'textinput', id: 'subtitle', label: 'Subtitle', default: '', useVariables: true },
			],
			callback: async (a, ctx) =>
				call('PATCH', `/keyers/${seg(String(a.options.keyer))}`, {
					title: await text(ctx, a.options.title),
					subtitle: await text(ctx, a.options.subtitle),
				}),
		},
		record: {
			name: 'Recording: start, stop or toggle',
			options: [mode('mode', 'Do', ['toggle', 'start', 'stop'])],
			callback: (a) => {
				let start = a.options.mode === 'start'
				if (a.options.mode === 'toggle') start = !st.recording.active
				return call('POST', start ? '/recording/start' : '/recording/stop')
			},
		},
		marker: {
			name: 'Recording: a marker at the program’s current frame',
			options: [
				{ type: 'textinput', id: 'name', label: 'Name', default: '', useVariables: true },
				mode('color', 'Colour', ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black', 'white']),
			],
			callback: async (a, ctx) => call('POST', '/recording/markers', { name: await text(ctx, a.options.name), color: a.options.color }),
		},
		output: {
			name: 'Output: start, stop or toggle a destination',
			options: [dropdown('output', 'Output', outputs), mode('mode', 'Do', ['toggle', 'start', 'stop'])],
			callback: (a) => {
				const name = String(a.options.output)
				let start = a.options.mode === 'start'
				if (a.options.mode === 'toggle') {
					const o = st.outputs.get(name)
					start = !(o && o.enabled)
				}
				return call('POST', `/outputs/${seg(name)}/${start ? 'start' : 'stop'}`)
			},
		},
		audio_mute: {
			name: 'Audio: mute, unmute or toggle a source (or the master)',
			options: [dropdown('source', 'Source', audioSources), mode('mode', 'Do', ['toggle', 'mute', 'unmute'])],
			callback: (a) => {
				const src = String(a.options.source)
				let mute = a.options.mode === 'mute'
				if (a.options.mode === 'toggle') mute = !st.muted(src)
				return call('PATCH', `/audio/${seg(src)}`, { mute })
			},
		},
		audio_gain: {
			name: 'Audio: set a source’s (or the master’s) gain',
			options: [
				dropdown('source', 'Source', audioSources),
				{ type: 'number', id: 'gain_db', label: 'Gain (dB)', default: 0, min: -60, max: 20, step: 0.5 },
			],
			callback: (a) => call('PATCH', `/audio/${seg(String(a.options.source))}`, { gain_db: Number(a.options.gain_db) }),
		},
		macro: {
			name: 'Macro: run',
			options: [dropdown('macro', 'Macro', choices(st.macros.map((m) => m.name)))],
			callback: (a) => call('POST', `/macros/${seg(String(a.options.macro))}/run`),
		},
	}
}

module.exports = { actions }
