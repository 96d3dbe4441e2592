// The module's variables: program and preview names, the recording's time
// and state, the transition, and each output's state.

'use strict'

const { hms } = require('./state.js')

/** variableDefinitions lists the variables for the show's outputs. */
function variableDefinitions(st) {
	const defs = [
		{ variableId: 'program', name: 'Program: the source on air' },
		{ variableId: 'preview', name: 'Preview: the next source' },
		{ variableId: 'transition', name: 'Transition: position in % while one runs, else empty' },
		{ variableId: 'recording', name: 'Recording: "recording", or how the last session stopped' },
		{ variableId: 'recording_time', name: 'Recording time (HH:MM:SS)' },
		{ variableId: 'connection', name: 'Link to Switchyard: ok, connecting, failed' },
	]
	for (const name of [...st.outputs.keys()].sort()) {
		defs.push({ variableId: `output_${name}`, name: `Output ${name}: idle, connecting, live, retrying or failed` })
	}
	return defs
}

/** variableValues returns every variable's value now. */
function variableValues(st, link, now = Date.now()) {
	const v = {
		program: st.program,
		preview: st.preview,
		transition: st.transition.active ? String(Math.round((st.transition.position || 0) * 100)) : '',
		recording: st.recording.active ? 'recording' : st.recording.state || 'stopped',
		recording_time: hms(st.recordingSeconds(now)),
		connection: link,
	}
	for (const [name, o] of st.outputs) v[`output_${name}`] = o.state || ''
	return v
}

module.exports = { variableDefinitions, variableValues }
