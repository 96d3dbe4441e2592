// The show as the module knows it: built from the event stream's first
// "state" event and kept current by the events after it (no polling).

'use strict'

class ShowState {
	constructor() {
		this.reset()
	}

	reset() {
		this.ready = false
		this.program = ''
		this.preview = ''
		this.transition = { active: false, position: 0 }
		this.ftb = false
		this.sources = new Map() // name → {name, state}
		this.outputs = new Map() // name → {name, state, attempt, enabled}
		this.keyers = [] // [{id, type, on, title, subtitle}]
		this.audio = { master: { gain_db: 0, mute: false }, sources: {} }
		this.recording = { active: false, id: '', state: '', startedAt: null }
		this.macros = [] // [{name, steps, running}]
	}

	/**
	 * apply takes one event and returns what it changed: a set of "buses",
	 * "sources", "outputs", "keyers", "audio", "recording", "macros" (and
	 * "lists" when a name came or went, which changes the choices offered).
	 */
	apply(type, d) {
		const changed = new Set()
		switch (type) {
			case 'state':
				this.ready = true
				this.program = d.program
				this.preview = d.preview
				this.transition = d.transition || { active: false }
				this.ftb = !!d.ftb
				this.sources = new Map((d.sources || []).map((s) => [s.name, s]))
				this.outputs = new Map((d.outputs || []).map((o) => [o.name, o]))
				this.keyers = d.keyers || []
				if (d.audio) this.audio = d.audio
				this.recording = d.recording
					? { active: d.recording.state === 'recording', id: d.recording.id, state: d.recording.state, startedAt: d.recording.started_at }
					: { active: false, id: '', state: '', startedAt: null }
				this.macros = d.macros || []
				for (const c of ['buses', 'sources', 'outputs', 'keyers', 'audio', 'recording', 'macros', 'lists']) changed.add(c)
				break
			case 'buses':
				this.program = d.program
				this.preview = d.preview
				this.transition = d.transition || { active: false }
				this.ftb = !!d.ftb
				changed.add('buses')
				break
			case 'source':
				if (!this.sources.has(d.name)) changed.add('lists')
				this.sources.set(d.name, { ...this.sources.get(d.name), ...d })
				changed.add('sources')
				break
			case 'source_removed':
				this.sources.delete(d.name)
				changed.add('sources').add('lists')
				break
			case 'output':
				if (!this.outputs.has(d.name)) changed.add('lists')
				this.outputs.set(d.name, { ...this.outputs.get(d.name), ...d })
				changed.add('outputs')
				break
			case 'output_removed':
				this.outputs.delete(d.name)
				changed.add('outputs').add('lists')
				break
			case 'keyers': {
				const before = this.keyers.map((k) => k.id).join()
				this.keyers = d || []
				if (this.keyers.map((k) => k.id).join() !== before) changed.add('lists')
				changed.add('keyers')
				break
			}
			case 'audio':
				this.audio = d
				changed.add('audio')
				break
			case 'recording':
				this.recording = {
					active: !!d.active,
					id: d.id || '',
					state: d.state || '',
					// the start comes with the state; a new session's is fetched (Switchyard.refreshRecording)
					startedAt: d.active && d.id === this.recording.id ? this.recording.startedAt : null,
				}
				changed.add('recording')
				break
			case 'macros': {
				const before = this.macros.map((m) => m.name).join()
				this.macros = d || []
				if (this.macros.map((m) => m.name).join() !== before) changed.add('lists')
				changed.add('macros')
				break
			}
			case 'macro': {
				const m = this.macros.find((x) => x.name === d.name)
				if (m) m.running = d.state === 'running'
				changed.add('macros')
				break
			}
		}
		return changed
	}

	/** onProgram: the source is on air — on program, or part of a transition under way. */
	onProgram(source) {
		return this.program === source || (!!this.transition.active && this.preview === source)
	}

	onPreview(source) {
		return this.preview === source
	}

	sourceNames() {
		return [...this.sources.keys()].sort()
	}

	keyer(id) {
		return this.keyers.find((k) => k.id === id)
	}

	muted(source) {
		const s = source === 'master' ? this.audio.master : (this.audio.sources || {})[source]
		return !!(s && s.mute)
	}

	/** recordingSeconds is how long the running session has recorded, by this machine's clock. */
	recordingSeconds(now = Date.now()) {
		if (!this.recording.active || !this.recording.startedAt) return 0
		return Math.max(0, Math.floor((now - Date.parse(this.recording.startedAt)) / 1000))
	}
}

/** hms formats seconds as HH:MM:SS. */
function hms(s) {
	const p = (n) => String(n).padStart(2, '0')
	return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`
}

module.exports = { ShowState, hms }
