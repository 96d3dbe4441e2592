// The module's presets: a page of source buttons with tally colours (press:
// preview; red on program, green on preview), one of hot cuts, the
// transition buttons, recording, and a button a macro.

'use strict'

const { RED, GREEN, AMBER, WHITE, BLACK } = require('./feedbacks.js')

const GREY = 0x333333

function button(category, name, text, down, feedbacks = []) {
	return {
		type: 'button',
		category,
		name,
		style: { text, size: 'auto', color: WHITE, bgcolor: GREY },
		steps: [{ down, up: [] }],
		feedbacks,
	}
}

function tally(source) {
	return [
		{ feedbackId: 'preview_tally', options: { source }, style: { bgcolor: GREEN, color: WHITE } },
		{ feedbackId: 'program_tally', options: { source }, style: { bgcolor: RED, color: WHITE } }, // the later wins: red over green
	]
}

/** presets returns the preset buttons; label is the connection's (for variables in text). */
function presets(st, label) {
	const p = {}
	for (const source of st.sourceNames()) {
		p[`preview_${source}`] = button('Sources', `${source}: preview`, source, [{ actionId: 'preview', options: { source } }], tally(source))
		p[`program_${source}`] = button('Sources: hot cut', `${source}: cut to program`, source, [{ actionId: 'program', options: { source } }], tally(source))
	}
	p.cut = button('Transitions', 'CUT', 'CUT', [{ actionId: 'cut', options: {} }])
	p.auto = button('Transitions', 'AUTO', 'AUTO', [{ actionId: 'auto', options: { type: 'default', duration_ms: 0 } }], [
		{ feedbackId: 'transition_active', options: {}, style: { bgcolor: AMBER, color: BLACK } },
	])
	p.ftb = button('Transitions', 'FTB', 'FTB', [{ actionId: 'ftb', options: {} }], [{ feedbackId: 'ftb', options: {}, style: { bgcolor: RED, color: WHITE } }])
	p.record = button('Recording', 'REC', `REC\\n$(${label}:recording_time)`, [{ actionId: 'record', options: { mode: 'toggle' } }], [
		{ feedbackId: 'recording', options: {}, style: { bgcolor: RED, color: WHITE } },
	])
	p.marker = button('Recording', 'Marker', 'MARK', [{ actionId: 'marker', options: { name: '', color: 'red' } }])
	for (const k of st.keyers) {
		p[`keyer_${k.id}`] = button('Keyers', `${k.id}: toggle`, `KEY\\n${k.id}`, [{ actionId: 'keyer', options: { keyer: k.id, mode: 'toggle' } }], [
			{ feedbackId: 'keyer_on_air', options: { keyer: k.id }, style: { bgcolor: RED, color: WHITE } },
		])
	}
	for (const name of [...st.outputs.keys()].sort()) {
		p[`output_${name}`] = button('Outputs', `${name}: start/stop`, `${name}\\n$(${label}:output_${name})`, [{ actionId: 'output', options: { output: name, mode: 'toggle' } }], [
			{ feedbackId: 'output_state', options: { output: name, state: 'retrying' }, style: { bgcolor: AMBER, color: BLACK } },
			{ feedbackId: 'output_state', options: { output: name, state: 'live' }, style: { bgcolor: GREEN, color: WHITE } },
		])
	}
	for (const m of st.macros) {
		p[`macro_${m.name}`] = button('Macros', m.name, m.name, [{ actionId: 'macro', options: { macro: m.name } }], [
			{ feedbackId: 'macro_running', options: { macro: m.name }, style: { bgcolor: AMBER, color: BLACK } },
		])
	}
	p.program_name = { type: 'text', category: 'Sources', name: 'Program and preview', text: `PGM $(${label}:program) · PVW $(${label}:preview)` }
	return p
}

module.exports = { presets }
