// src/main.js run as Companion runs a module: a child process started with
// the manifest, speaking the module base's IPC (register, init,
// executeAction, updateFeedbacks, getConfigFields, destroy). This test plays
// Companion's side of it against the running Switchyard of module.test.js.

'use strict'

const { test } = require('node:test') // registered by module.test.js, after its own: one show, one test at a time
const assert = require('node:assert/strict')
const path = require('node:path')
const { fork } = require('node:child_process')
const { Api } = require('../src/api.js')

const URL_ = process.env.SWITCHYARD_URL
const TOKEN = process.env.SWITCHYARD_TOKEN
if (!URL_ || !TOKEN) throw new Error('set SWITCHYARD_URL and SWITCHYARD_TOKEN (go test -run TestCompanionModule ./cmd/switchyard does)')
const server = new URL(URL_)
const api = new Api(URL_, TOKEN)

/** companionHost forks main.js and plays Companion's side of the IPC. */
function companionHost() {
	const child = fork(path.join(__dirname, '..', 'src', 'main.js'), [], {
		env: {
			...process.env,
			MODULE_MANIFEST: path.join(__dirname, '..', 'companion', 'manifest.json'),
			CONNECTION_ID: 'switchyard-test',
			VERIFICATION_TOKEN: 'test-verification',
		},
		stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
	})
	let output = ''
	child.stdout.on('data', (d) => (output += d))
	child.stderr.on('data', (d) => (output += d))
	const calls = [] // what the module sent: {name, payload}
	const pending = new Map()
	let nextId = 1
	child.on('message', (msg) => {
		if (msg.direction === 'response') {
			const p = pending.get(msg.callbackId)
			pending.delete(msg.callbackId)
			const data = msg.payload ? JSON.parse(msg.payload) : undefined
			if (p) (msg.success ? p.resolve : p.reject)(msg.success ? data : new Error(data && data.message))
			return
		}
		const payload = msg.payload ? JSON.parse(msg.payload) : undefined
		calls.push({ name: msg.name, payload })
		if (msg.callbackId) {
			let reply
			if (msg.name === 'parseVariablesInString') reply = { text: payload.text, variablesUsed: [] }
			child.send({ direction: 'response', callbackId: msg.callbackId, success: true, payload: reply === undefined ? undefined : JSON.stringify(reply) })
		}
	})
	const send = (name, msg) =>
		new Promise((resolve, reject) => {
			const id = nextId++
			pending.set(id, { resolve, reject })
			child.send({ direction: 'call', name, payload: JSON.stringify(msg), callbackId: id })
		})
	const exited = new Promise((r) => child.on('exit', r))
	return { child, calls, send, exited, output: () => output }
}

async function until(what, cond, within = 10000) {
	const deadline = Date.now() + within
	for (;;) {
		const v = cond()
		if (v) return v
		if (Date.now() > deadline) throw new Error(`timed out after ${within} ms waiting for ${what}`)
		await new Promise((r) => setTimeout(r, 20))
	}
}

test('main.js registers, connects, runs an action and updates a feedback over Companion’s IPC', async () => {
	const h = companionHost()
	try {
		await until('the module to register', () => h.calls.find((c) => c.name === 'register'))
		const feedback = { id: 'f1', controlId: 'bank1', feedbackId: 'program_tally', options: { source: 'cam3' }, upgradeIndex: null, disabled: false, isInverted: false }
		// a new connection starts from the config fields' defaults (Companion saves them)...
		const init = await h.send('init', { label: 'switchyard', isFirstInit: true, config: {}, lastUpgradeIndex: -1, feedbacks: { f1: feedback }, actions: {} })
		assert.equal(init.newUpgradeIndex, -1, 'no upgrade script yet')
		const saved = await until('the defaults saved', () => h.calls.find((c) => c.name === 'saveConfig'))
		assert.deepEqual({ ...saved.payload.config, info: undefined }, { host: '127.0.0.1', port: 8080, https: false, token: '', info: undefined })
		// ...then the operator sets host, port and token
		await h.send('updateConfigAndLabel', { label: 'switchyard', config: { host: server.hostname, port: Number(server.port), https: false, token: TOKEN } })
		await until('status ok', () => h.calls.find((c) => c.name === 'set-status' && c.payload.status === 'ok'))
		const defs = await until('the action definitions with the sources', () =>
			h.calls.findLast((c) => c.name === 'setActionDefinitions' && c.payload.actions.some((a) => a.id === 'program' && a.options[0].choices.some((ch) => ch.id === 'cam3'))),
		)
		for (const id of ['cut', 'auto', 'keyer', 'macro']) assert.ok(defs.payload.actions.some((a) => a.id === id), id)
		// the definitions come as separate messages, in order, after the actions'
		await until('the feedback definitions', () => h.calls.some((c) => c.name === 'setFeedbackDefinitions' && c.payload.feedbacks.some((f) => f.id === 'program_tally')))
		await until('the presets with the sources', () => h.calls.some((c) => c.name === 'setPresetDefinitions' && c.payload.presets.some((p) => p.id === 'preview_cam3')))

		const fields = await h.send('getConfigFields', {})
		assert.deepEqual(fields.fields.filter((f) => f.id !== 'info').map((f) => f.id), ['host', 'port', 'https', 'token'])

		await h.send('executeAction', {
			action: { id: 'a1', controlId: 'bank2', actionId: 'program', options: { source: 'cam3' }, upgradeIndex: null, disabled: false },
			surfaceId: undefined,
		})
		assert.equal((await api.request('GET', '/state')).program, 'cam3')
		await until('the tally feedback on', () =>
			h.calls.some((c) => c.name === 'updateFeedbackValues' && c.payload.values.some((v) => v.id === 'f1' && v.value === true)),
		)
		await until('the program variable', () =>
			h.calls.some((c) => c.name === 'setVariableValues' && c.payload.newValues.some((v) => v.id === 'program' && v.value === 'cam3')),
		)
		await h.send('destroy', {})
	} catch (err) {
		err.message += `\nmodule output:\n${h.output()}\ncalls: ${JSON.stringify(h.calls.map((c) => [c.name, c.name === 'set-status' || c.name === 'log-message' ? c.payload : '']))}`
		throw err
	} finally {
		h.child.kill()
		await h.exited
	}
})
