// The module against a running Switchyard (cmd/switchyard/companion_test.go
// starts one and runs `npm test` with its address in the environment): the
// module's logic runs on a small host standing in for Companion, each action
// is pressed and its effect read back over the API, and each feedback and
// variable is watched following the show through the event stream.
//
//   SWITCHYARD_URL           http://127.0.0.1:PORT
//   SWITCHYARD_TOKEN         an admin token
//   SWITCHYARD_LOOPBACK_RTMP an RTMP URL that takes a publisher (the show's own ingest)

'use strict'

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')
const { InstanceStatus, validateManifest } = require('@companion-module/base')
const { Switchyard } = require('../src/switchyard.js')
const { Api } = require('../src/api.js')
const { configFields } = require('../src/config.js')
const { UpgradeScripts } = require('../src/upgrades.js')

const URL_ = process.env.SWITCHYARD_URL
const TOKEN = process.env.SWITCHYARD_TOKEN
const LOOPBACK = process.env.SWITCHYARD_LOOPBACK_RTMP
if (!URL_ || !TOKEN || !LOOPBACK) {
	throw new Error('set SWITCHYARD_URL, SWITCHYARD_TOKEN and SWITCHYARD_LOOPBACK_RTMP: go test -run TestCompanionModule ./cmd/switchyard runs these tests against a Switchyard it starts')
}
const server = new URL(URL_)
const api = new Api(URL_, TOKEN)

/** fakeHost is what Companion gives a module, keeping what the module sets. */
function fakeHost() {
	const h = {
		label: 'switchyard',
		actions: {},
		feedbacks: {},
		variableDefs: [],
		values: {},
		presets: {},
		statuses: [],
		checked: new Map(), // feedback id → times checkFeedbacks named it
		logs: [],
		setActionDefinitions: (a) => (h.actions = a),
		setFeedbackDefinitions: (f) => (h.feedbacks = f),
		setVariableDefinitions: (d) => (h.variableDefs = d),
		setVariableValues: (v) => Object.assign(h.values, v),
		setPresetDefinitions: (p) => (h.presets = p),
		checkedAt: new Map(), // feedback id → when checkFeedbacks last named it
		checkFeedbacks: (...ids) =>
			ids.forEach((id) => {
				h.checked.set(id, (h.checked.get(id) || 0) + 1)
				h.checkedAt.set(id, performance.now())
			}),
		updateStatus: (s, m) => h.statuses.push([s, m]),
		log: (level, msg) => h.logs.push([level, msg]),
	}
	return h
}

/** until polls cond (the module's own view: no request) until it holds. */
async function until(what, cond, within = 10000) {
	const deadline = Date.now() + within
	for (;;) {
		const v = await cond()
		if (v) return v
		if (Date.now() > deadline) throw new Error(`timed out after ${within} ms waiting for ${what}`)
		await new Promise((r) => setTimeout(r, 20))
	}
}

const ctx = { parseVariablesInString: async (s) => s }
let host, sy

function press(actionId, options = {}) {
	const def = host.actions[actionId]
	assert.ok(def, `action ${actionId} is defined`)
	return def.callback({ id: 't', controlId: 't', actionId, options, surfaceId: undefined }, ctx)
}

function feedback(feedbackId, options = {}) {
	const def = host.feedbacks[feedbackId]
	assert.ok(def, `feedback ${feedbackId} is defined`)
	return def.callback({ type: 'boolean', id: 't', controlId: 't', feedbackId, options }, ctx)
}

/** follows waits until checkFeedbacks named id again and the feedback says want. */
async function follows(feedbackId, options, want, since) {
	await until(`${feedbackId} ${JSON.stringify(options)} → ${want}`, () =>
		(host.checked.get(feedbackId) || 0) > since && feedback(feedbackId, options) === want,
	)
}

const checks = (id) => host.checked.get(id) || 0
const choicesOf = (kind, id, opt) => (kind[id].options.find((o) => o.id === opt) || { choices: [] }).choices.map((c) => c.id)

before(async () => {
	host = fakeHost()
	sy = new Switchyard(host)
	await sy.start({ host: server.hostname, port: Number(server.port), token: TOKEN })
	await until('the link', () => host.values.connection === 'ok' && sy.state.ready)
	// a clean start whatever ran before
	await api.request('POST', '/program', { source: 'cam1' })
	await api.request('POST', '/preview', { source: 'cam2' })
})

after(async () => {
	await sy.stop()
})

test('the manifest, config fields and upgrade scripts are what Companion loads', () => {
	validateManifest(require('../companion/manifest.json'), false)
	const ids = configFields().map((f) => f.id)
	for (const id of ['host', 'port', 'token']) assert.ok(ids.includes(id), `config field ${id}`)
	assert.ok(Array.isArray(UpgradeScripts))
})

test('connects, and defines actions, feedbacks, variables and presets from the show', () => {
	assert.equal(host.statuses.at(-1)[0], InstanceStatus.Ok)
	for (const id of ['program', 'preview', 'cut', 'auto', 'ftb', 'tbar', 'keyer', 'lower_third', 'record', 'marker', 'output', 'audio_mute', 'audio_gain', 'macro']) {
		assert.ok(host.actions[id], `action ${id}`)
	}
	for (const id of ['program_tally', 'preview_tally', 'keyer_on_air', 'recording', 'output_state', 'audio_muted', 'transition_active']) {
		assert.ok(host.feedbacks[id], `feedback ${id}`)
	}
	assert.deepEqual(choicesOf(host.actions, 'program', 'source'), ['cam1', 'cam2', 'cam3', 'loopback', 'black'])
	const vars = host.variableDefs.map((v) => v.variableId)
	for (const id of ['program', 'preview', 'recording_time']) assert.ok(vars.includes(id), `variable ${id}`)
	// the page of source buttons: press for preview, green on preview, red on program
	const p = host.presets.preview_cam1
	assert.equal(p.type, 'button')
	assert.equal(p.steps[0].down[0].actionId, 'preview')
	assert.deepEqual(p.feedbacks.map((f) => f.feedbackId), ['preview_tally', 'program_tally'])
	assert.equal(host.presets.program_cam3.steps[0].down[0].actionId, 'program')
})

test('program and preview per source, with their tally and variables', async () => {
	let pv = checks('preview_tally')
	await press('preview', { source: 'cam3' })
	assert.equal((await api.request('GET', '/state')).preview, 'cam3')
	await follows('preview_tally', { source: 'cam3' }, true, pv)
	assert.equal(feedback('preview_tally', { source: 'cam2' }), false)
	assert.equal(host.values.preview, 'cam3')

	const pg = checks('program_tally')
	await press('program', { source: 'cam2' })
	assert.equal((await api.request('GET', '/state')).program, 'cam2')
	await follows('program_tally', { source: 'cam2' }, true, pg)
	assert.equal(feedback('program_tally', { source: 'cam1' }), false)
	assert.equal(host.values.program, 'cam2')

	pv = checks('program_tally')
	await press('cut')
	const st = await api.request('GET', '/state')
	assert.deepEqual([st.program, st.preview], ['cam3', 'cam2'])
	await follows('program_tally', { source: 'cam3' }, true, pv)
	assert.equal(feedback('preview_tally', { source: 'cam2' }), true)
	assert.equal(host.values.program, 'cam3')
})

test('AUTO runs a transition: in progress, both sources red, then swapped', async () => {
	const n = checks('transition_active')
	await press('auto', { type: 'mix', duration_ms: 1500 })
	const st = await api.request('GET', '/state')
	assert.equal(st.transition.active, true, 'the transition runs')
	assert.equal(st.transition.type, 'mix')
	assert.equal(st.transition.duration_ms, 1500)
	await follows('transition_active', {}, true, n)
	assert.equal(feedback('program_tally', { source: 'cam2' }), true, 'the incoming source is on air')
	assert.equal(feedback('program_tally', { source: 'cam3' }), true, 'the outgoing one still is')
	await until('the transition to end', () => feedback('transition_active') === false, 15000)
	assert.equal(feedback('program_tally', { source: 'cam3' }), false)
	const end = await api.request('GET', '/state')
	assert.deepEqual([end.program, end.preview], ['cam2', 'cam3'])
	assert.equal(host.values.program, 'cam2')
})

test('the T-bar moves the transition and finishes it at 100 %', async () => {
	const n = checks('transition_active')
	await press('tbar', { position: 50 })
	let st = await api.request('GET', '/state')
	assert.equal(st.transition.active, true)
	assert.equal(st.transition.manual, true)
	assert.equal(st.transition.position, 0.5)
	await follows('transition_active', {}, true, n)
	await until('the transition variable', () => host.values.transition === '50')
	await press('tbar', { position: 100 })
	st = await api.request('GET', '/state')
	assert.equal(st.transition.active, false)
	assert.equal(st.program, 'cam3')
	await until('the transition to end', () => feedback('transition_active') === false && host.values.program === 'cam3')
})

test('FTB fades to black and back', async () => {
	let n = checks('ftb')
	await press('ftb')
	assert.equal((await api.request('GET', '/state')).ftb, true)
	await follows('ftb', {}, true, n)
	n = checks('ftb')
	await press('ftb')
	assert.equal((await api.request('GET', '/state')).ftb, false)
	await follows('ftb', {}, false, n)
})

test('keyer on, off, toggle and the lower third’s text', async () => {
	const k = await api.request('POST', '/keyers', { type: 'lowerthird', title: 'Before', subtitle: 'Old' })
	await until('the new keyer among the choices', () => choicesOf(host.actions, 'keyer', 'keyer').includes(k.id))
	assert.ok(choicesOf(host.actions, 'lower_third', 'keyer').includes(k.id))

	let n = checks('keyer_on_air')
	await press('keyer', { keyer: k.id, mode: 'on' })
	assert.equal((await api.request('GET', `/keyers/${k.id}`)).on, true)
	await follows('keyer_on_air', { keyer: k.id }, true, n)
	n = checks('keyer_on_air')
	await press('keyer', { keyer: k.id, mode: 'toggle' })
	assert.equal((await api.request('GET', `/keyers/${k.id}`)).on, false)
	await follows('keyer_on_air', { keyer: k.id }, false, n)
	n = checks('keyer_on_air')
	await press('keyer', { keyer: k.id, mode: 'toggle' })
	assert.equal((await api.request('GET', `/keyers/${k.id}`)).on, true)
	await follows('keyer_on_air', { keyer: k.id }, true, n)
	await press('keyer', { keyer: k.id, mode: 'off' })
	assert.equal((await api.request('GET', `/keyers/${k.id}`)).on, false)

	await press('lower_third', { keyer: k.id, title: 'Ada Lovelace', subtitle: 'Analyst' })
	const got = await api.request('GET', `/keyers/${k.id}`)
	assert.deepEqual([got.title, got.subtitle], ['Ada Lovelace', 'Analyst'])
})

test('recording start, marker, stop, with its feedback and time', async () => {
	let n = checks('recording')
	await press('record', { mode: 'start' })
	const st = await api.request('GET', '/state')
	assert.equal(st.recording.state, 'recording')
	await follows('recording', {}, true, n)
	await until('the recording time to count', () => host.values.recording_time >= '00:00:01', 15000)
	assert.equal(host.values.recording, 'recording')

	await press('marker', { name: 'from-companion', color: 'green' })
	const after = await api.request('GET', '/state')
	assert.ok((after.recording.markers || []).some((m) => m.name === 'from-companion' && m.color === 'green'), JSON.stringify(after.recording.markers))

	n = checks('recording')
	await press('record', { mode: 'toggle' })
	assert.equal((await api.request('GET', '/state')).recording, undefined, 'no session runs')
	await follows('recording', {}, false, n)
	assert.equal(host.values.recording_time, '00:00:00')
})

test('outputs start and stop; the feedback follows live and retrying', async () => {
	await api.request('POST', '/outputs', { name: 'loop', url: LOOPBACK, enabled: false })
	await api.request('POST', '/outputs', { name: 'dead', url: 'rtmp://127.0.0.1:1/live/nowhere', enabled: false })
	await until('the outputs among the choices', () => ['loop', 'dead'].every((o) => choicesOf(host.actions, 'output', 'output').includes(o)))
	assert.ok(host.variableDefs.some((v) => v.variableId === 'output_loop'), 'a variable an output')

	let n = checks('output_state')
	await press('output', { output: 'loop', mode: 'start' })
	assert.equal((await api.request('GET', '/outputs/loop')).enabled, true)
	await follows('output_state', { output: 'loop', state: 'live' }, true, n)
	assert.equal(host.values.output_loop, 'live')

	n = checks('output_state')
	await press('output', { output: 'dead', mode: 'toggle' })
	await follows('output_state', { output: 'dead', state: 'retrying' }, true, n)
	assert.equal(host.values.output_dead, 'retrying')
	const dead = await api.request('GET', '/outputs/dead') // by now it may be trying again
	assert.ok(dead.enabled && dead.attempt >= 1 && ['retrying', 'connecting'].includes(dead.state), JSON.stringify(dead))

	for (const name of ['loop', 'dead']) {
		n = checks('output_state')
		await press('output', { output: name, mode: 'stop' })
		assert.equal((await api.request('GET', `/outputs/${name}`)).enabled, false)
		await follows('output_state', { output: name, state: 'idle' }, true, n)
	}
})

test('audio mute, unmute, toggle and gain, a source and the master', async () => {
	let n = checks('audio_muted')
	await press('audio_mute', { source: 'cam1', mode: 'mute' })
	assert.equal((await api.request('GET', '/audio')).sources.cam1.mute, true)
	await follows('audio_muted', { source: 'cam1' }, true, n)
	n = checks('audio_muted')
	await press('audio_mute', { source: 'cam1', mode: 'toggle' })
	assert.equal((await api.request('GET', '/audio')).sources.cam1.mute, false)
	await follows('audio_muted', { source: 'cam1' }, false, n)
	n = checks('audio_muted')
	await press('audio_mute', { source: 'master', mode: 'toggle' })
	assert.equal((await api.request('GET', '/audio')).master.mute, true)
	await follows('audio_muted', { source: 'master' }, true, n)
	await press('audio_mute', { source: 'master', mode: 'unmute' })
	assert.equal((await api.request('GET', '/audio')).master.mute, false)

	await press('audio_gain', { source: 'cam2', gain_db: -6 })
	assert.equal((await api.request('GET', '/audio')).sources.cam2.gain_db, -6)
	await press('audio_gain', { source: 'master', gain_db: 3 })
	assert.equal((await api.request('GET', '/audio')).master.gain_db, 3)
})

test('a macro runs from its button; its feedback follows the run', async () => {
	await api.request('POST', '/macros', {
		name: 'to-cam1',
		steps: [
			{ method: 'POST', path: '/api/v1/preview', body: { source: 'cam1' } },
			{ method: 'POST', path: '/api/v1/cut', wait_ms: 400 },
		],
	})
	await until('the macro among the choices', () => choicesOf(host.actions, 'macro', 'macro').includes('to-cam1'))
	assert.ok(host.presets['macro_to-cam1'], 'a preset button')
	const n = checks('macro_running')
	await press('macro', { macro: 'to-cam1' })
	await follows('macro_running', { macro: 'to-cam1' }, true, n)
	await until('the run to end', () => feedback('macro_running', { macro: 'to-cam1' }) === false, 15000)
	assert.equal((await api.request('GET', '/state')).program, 'cam1')
	await until('the program variable', () => host.values.program === 'cam1')
	await assert.rejects(press('macro', { macro: 'nosuch' }), /no macro named/)
})

test('a refused action says why', async () => {
	await assert.rejects(press('program', { source: 'nosuch' }), (err) => err.status === 404 && /no source named/.test(err.message))
	assert.ok(host.logs.some(([level, msg]) => level === 'warn' && msg.includes('no source named')))
})

test('a wrong token is an authentication failure', async () => {
	const h = fakeHost()
	const bad = new Switchyard(h)
	await bad.start({ host: server.hostname, port: Number(server.port), token: 'wrong-token' })
	try {
		await until('the status', () => h.statuses.some(([s]) => s === InstanceStatus.AuthenticationFailure))
	} finally {
		await bad.stop()
	}
	const cfg = fakeHost()
	const none = new Switchyard(cfg)
	await none.start({ host: '', port: 8080, token: '' })
	assert.equal(cfg.statuses.at(-1)[0], InstanceStatus.BadConfig)
	await none.stop()
})

test('reconnects by itself, and catches up on what it missed', async () => {
	// a proxy between the module and Switchyard that can drop every connection
	const conns = new Set()
	let up = true
	const proxy = net.createServer((c) => {
		if (!up) return c.destroy()
		const s = net.connect(Number(server.port), server.hostname)
		conns.add(c).add(s)
		c.pipe(s).pipe(c)
		const drop = () => {
			c.destroy()
			s.destroy()
		}
		c.on('error', drop).on('close', drop)
		s.on('error', drop).on('close', drop)
	})
	await new Promise((r) => proxy.listen(0, '127.0.0.1', r))
	const h = fakeHost()
	const m = new Switchyard(h)
	try {
		await api.request('POST', '/preview', { source: 'cam1' })
		await m.start({ host: '127.0.0.1', port: proxy.address().port, token: TOKEN })
		await until('the link', () => h.values.connection === 'ok' && m.state.ready && m.state.preview === 'cam1')
		up = false
		for (const c of conns) c.destroy()
		await until('the link to drop', () => h.values.connection !== 'ok')
		await api.request('POST', '/preview', { source: 'cam3' }) // while it is away
		up = true
		await until('the link back', () => h.values.connection === 'ok', 15000)
		await until('the change made while away', () => m.state.preview === 'cam3' && h.values.preview === 'cam3')
		assert.equal(h.feedbacks.preview_tally.callback({ options: { source: 'cam3' } }), true)
	} finally {
		await m.stop()
		for (const c of conns) c.destroy()
		await new Promise((r) => proxy.close(r))
	}
})

test('a button press reaches its tally: 20 cuts, median and worst (a figure, not a bound)', async (t) => {
	const took = []
	for (let i = 0; i < 20; i++) {
		const source = i % 2 ? 'cam1' : 'cam2'
		const n = checks('program_tally')
		const t0 = performance.now()
		await press('program', { source })
		await follows('program_tally', { source }, true, n)
		took.push(host.checkedAt.get('program_tally') - t0) // when the event told the module, not when this loop looked
	}
	took.sort((a, b) => a - b)
	t.diagnostic(`press → tally feedback over the event stream: median ${took[10].toFixed(1)} ms, worst ${took[19].toFixed(1)} ms (20 cuts)`)
})

// main.js as Companion runs it, over IPC, after the tests above (one show: one at a time)
require('./companion-ipc.js')
