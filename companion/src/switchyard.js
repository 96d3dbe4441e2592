// Switchyard is the module's logic over a host: Companion's InstanceBase in
// main.js, or, in the tests, a small object with the same methods. It
// connects to the API and its event stream, defines the actions, feedbacks,
// variables and presets from the show, and keeps the feedbacks and
// variables following the events.

'use strict'

const { InstanceStatus } = require('@companion-module/base')
const { Api, EventStream } = require('./api.js')
const { ShowState } = require('./state.js')
const { actions } = require('./actions.js')
const { feedbacks, feedbacksOf } = require('./feedbacks.js')
const { variableDefinitions, variableValues } = require('./variables.js')
const { presets } = require('./presets.js')
const { baseURL } = require('./config.js')

const statusOf = {
	ok: InstanceStatus.Ok,
	connecting: InstanceStatus.Connecting,
	auth: InstanceStatus.AuthenticationFailure,
	failed: InstanceStatus.ConnectionFailure,
}

class Switchyard {
	/**
	 * @param host what Companion gives a module: setActionDefinitions,
	 * setFeedbackDefinitions, setVariableDefinitions, setVariableValues,
	 * setPresetDefinitions, checkFeedbacks, updateStatus, log, label.
	 */
	constructor(host) {
		this.host = host
		this.state = new ShowState()
		this.api = null
		this.stream = null
		this.clock = null
		this.link = 'connecting'
	}

	/** start connects with config ({host, port, https, token}); a running link is closed first. */
	async start(config) {
		await this.stop()
		this.state.reset()
		let url
		try {
			url = baseURL(config)
		} catch (err) {
			this.host.updateStatus(InstanceStatus.BadConfig, err.message)
			return
		}
		this.api = new Api(url, String(config.token || '').trim())
		this.define()
		this.stream = new EventStream(
			this.api,
			(type, data) => this.onEvent(type, data),
			(status, msg) => this.onLink(status, msg),
		)
		this.clock = setInterval(() => this.tick(), 1000) // the recording time counts on between events
	}

	/** stop closes the event stream and the clock. */
	async stop() {
		clearInterval(this.clock)
		this.clock = null
		if (this.stream) await this.stream.close()
		this.stream = null
	}

	/** call sends one change to the API; a refusal is logged and thrown. */
	async call(method, path, body) {
		if (!this.api) throw new Error('not configured')
		try {
			return await this.api.request(method, path, body)
		} catch (err) {
			this.host.log('warn', `${method} ${path}: ${err.message}`)
			throw err
		}
	}

	define() {
		const label = this.host.label || 'switchyard'
		this.host.setActionDefinitions(actions(this))
		this.host.setFeedbackDefinitions(feedbacks(this))
		this.host.setVariableDefinitions(variableDefinitions(this.state))
		this.host.setPresetDefinitions(presets(this.state, label))
		this.host.setVariableValues(variableValues(this.state, this.link))
	}

	onLink(status, msg) {
		this.link = status
		this.host.updateStatus(statusOf[status] || InstanceStatus.UnknownError, msg || null)
		if (status !== 'ok' && msg) this.host.log(status === 'auth' ? 'error' : 'debug', `Switchyard: ${msg}`)
		this.host.setVariableValues({ connection: status })
	}

	onEvent(type, data) {
		if (type === 'levels') return
		const changed = this.state.apply(type, data)
		if (changed.size === 0) return
		if (changed.has('lists')) this.define()
		if (type === 'recording' && this.state.recording.active && !this.state.recording.startedAt) this.fetchRecordingStart()
		this.host.setVariableValues(variableValues(this.state, this.link))
		const ids = new Set()
		for (const c of changed) for (const id of feedbacksOf[c] || []) ids.add(id)
		if (ids.size) this.host.checkFeedbacks(...ids)
	}

	// A "recording" event says a session started, not when: its start is
	// read once from the state.
	async fetchRecordingStart() {
		try {
			const st = await this.api.request('GET', '/state')
			if (st.recording && st.recording.id === this.state.recording.id) {
				this.state.recording.startedAt = st.recording.started_at
				this.tick()
			}
		} catch (err) {
			this.host.log('debug', `reading the recording's start: ${err.message}`)
		}
	}

	tick() {
		if (this.state.recording.active) this.host.setVariableValues(variableValues(this.state, this.link))
	}
}

module.exports = { Switchyard }
