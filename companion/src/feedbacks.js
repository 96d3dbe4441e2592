// The module's feedbacks: each follows the show as the event stream tells
// it, never by polling.

'use strict'

const { combineRgb } = require('@companion-module/base')

const RED = combineRgb(204, 0, 0)
const GREEN = combineRgb(0, 153, 0)
const AMBER = combineRgb(230, 140, 0)
const WHITE = combineRgb(255, 255, 255)
const BLACK = combineRgb(0, 0, 0)

function dropdown(id, label, names) {
	const list = names.map((n) => ({ id: n, label: n }))
	return { type: 'dropdown', id, label, choices: list, default: list.length ? list[0].id : '', allowCustom: true }
}

/** feedbacks returns the feedback definitions over sy's state. */
function feedbacks(sy) {
	const st = sy.state
	const sources = st.sourceNames()
	return {
		program_tally: {
			type: 'boolean',
			name: 'Tally: source on program (red), or in a transition under way',
			defaultStyle: { bgcolor: RED, color: WHITE },
			options: [dropdown('source', 'Source', sources)],
			callback: (f) => st.onProgram(String(f.options.source)),
		},
		preview_tally: {
			type: 'boolean',
			name: 'Tally: source on preview (green)',
			defaultStyle: { bgcolor: GREEN, color: WHITE },
			options: [dropdown('source', 'Source', sources)],
			callback: (f) => st.onPreview(String(f.options.source)),
		},
		keyer_on_air: {
			type: 'boolean',
			name: 'Keyer on air',
			defaultStyle: { bgcolor: RED, color: WHITE },
			options: [dropdown('keyer', 'Keyer', st.keyers.map((k) => k.id))],
			callback: (f) => {
				const k = st.keyer(String(f.options.keyer))
				return !!(k && k.on)
			},
		},
		recording: {
			type: 'boolean',
			name: 'Recording',
			defaultStyle: { bgcolor: RED, color: WHITE },
			options: [],
			callback: () => st.recording.active,
		},
		output_state: {
			type: 'boolean',
			name: 'Output state (live, retrying, connecting, idle, failed)',
			defaultStyle: { bgcolor: GREEN, color: WHITE },
			options: [
				dropdown('output', 'Output', [...st.outputs.keys()].sort()),
				{ ...dropdown('state', 'State', ['live', 'retrying', 'connecting', 'idle', 'failed']), allowCustom: false },
			],
			callback: (f) => {
				const o = st.outputs.get(String(f.options.output))
				return !!o && o.state === f.options.state
			},
		},
		audio_muted: {
			type: 'boolean',
			name: 'Audio muted (a source or the master)',
			defaultStyle: { bgcolor: AMBER, color: BLACK },
			options: [dropdown('source', 'Source', [...sources, 'master'])],
			callback: (f) => st.muted(String(f.options.source)),
		},
		transition_active: {
			type: 'boolean',
			name: 'Transition in progress',
			defaultStyle: { bgcolor: AMBER, color: BLACK },
			options: [],
			callback: () => !!st.transition.active,
		},
		ftb: {
			type: 'boolean',
			name: 'Faded to black',
			defaultStyle: { bgcolor: RED, color: WHITE },
			options: [],
			callback: () => st.ftb,
		},
		macro_running: {
			type: 'boolean',
			name: 'Macro running',
			defaultStyle: { bgcolor: AMBER, color: BLACK },
			options: [dropdown('macro', 'Macro', st.macros.map((m) => m.name))],
			callback: (f) => {
				const m = st.macros.find((x) => x.name === f.options.macro)
				return !!(m && m.running)
			},
		},
	}
}

/** which feedbacks each kind of change (ShowState.apply) can move. */
const feedbacksOf = {
	buses: ['program_tally', 'preview_tally', 'transition_active', 'ftb'],
	keyers: ['keyer_on_air'],
	recording: ['recording'],
	outputs: ['output_state'],
	audio: ['audio_muted'],
	macros: ['macro_running'],
}

module.exports = { feedbacks, feedbacksOf, RED, GREEN, AMBER, WHITE, BLACK }
