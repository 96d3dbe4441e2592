// The Switchyard side of the module: its REST API (every change is sent as
// JSON, as the server requires) and its event stream (Server-Sent Events at
// /api/v1/events), read with Node's own fetch and reconnected by itself,
// resuming from the last event id so no change is missed.

'use strict'

/** An answer of the API that is not 2xx: the server's sentence and status. */
class ApiError extends Error {
	constructor(status, message) {
		super(message)
		this.status = status
	}
}

/** describe says what went wrong, with the cause Node's fetch keeps apart ("fetch failed": ECONNREFUSED). */
function describe(err) {
	const c = err && err.cause
	if (!c) return err.message
	return `${err.message}: ${c.code || ''}${c.code && c.message ? ' ' : ''}${c.message && c.message !== c.code ? c.message : ''}`.trim()
}

/** Api calls Switchyard's REST API under /api/v1. */
class Api {
	/**
	 * @param {string} base  e.g. "http://127.0.0.1:8080"
	 * @param {string} token a token of http.tokens (or http.token); empty for an open server
	 * @param {number} timeoutMs each request's bound
	 */
	constructor(base, token, timeoutMs = 5000) {
		this.base = base.replace(/\/+$/, '')
		this.token = token || ''
		this.timeoutMs = timeoutMs
	}

	headers(json) {
		const h = {}
		if (this.token) h.Authorization = `Bearer ${this.token}`
		if (json) h['Content-Type'] = 'application/json'
		return h
	}

	/**
	 * request sends method to /api/v1+path with body (JSON) and returns the
	 * decoded answer; a refusal throws an ApiError with the server's sentence.
	 */
	async request(method, path, body) {
		const change = method !== 'GET'
		let res
		try {
			res = await fetch(`${this.base}/api/v1${path}`, {
				method,
				headers: this.headers(change), // a change is JSON, even with no body
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(this.timeoutMs),
			})
		} catch (err) {
			throw new Error(`${method} ${path}: ${describe(err)}`, { cause: err })
		}
		const text = await res.text()
		let data = null
		try {
			data = text ? JSON.parse(text) : null
		} catch {
			data = null
		}
		if (!res.ok) {
			throw new ApiError(res.status, (data && data.error) || `${method} ${path}: HTTP ${res.status}`)
		}
		return data
	}
}

/**
 * EventStream reads /api/v1/events and calls onEvent(type, data) for each
 * event, onStatus(status, message) when the link changes ("connecting",
 * "ok", "auth", "failed"). It reconnects by itself, 0.5 s doubling to 10 s,
 * with Last-Event-ID, until close().
 */
class EventStream {
	constructor(api, onEvent, onStatus) {
		this.api = api
		this.onEvent = onEvent
		this.onStatus = onStatus
		this.lastId = ''
		this.closed = false
		this.abort = null
		this.timer = null
		this.wake = null
		this.done = this.run()
	}

	async run() {
		let delay = 500
		while (!this.closed) {
			this.onStatus('connecting')
			let status = 'failed'
			let message = ''
			try {
				await this.once(() => {
					delay = 500 // connected: the next retry starts quick
				})
				message = 'the event stream ended'
			} catch (err) {
				if (this.closed) break
				if (err instanceof ApiError && (err.status === 401 || err.status === 403)) status = 'auth'
				message = describe(err)
			}
			if (this.closed) break
			this.onStatus(status, message)
			await new Promise((resolve) => {
				this.wake = resolve
				this.timer = setTimeout(resolve, delay)
			})
			delay = Math.min(delay * 2, 10000)
		}
	}

	async once(connected) {
		this.abort = new AbortController()
		const headers = this.api.headers(false)
		headers.Accept = 'text/event-stream'
		if (this.lastId) headers['Last-Event-ID'] = this.lastId
		const res = await fetch(`${this.api.base}/api/v1/events`, { headers, signal: this.abort.signal })
		if (!res.ok) {
			let msg = `event stream: HTTP ${res.status}`
			try {
				msg = (await res.json()).error || msg
			} catch {
				// keep the status line
			}
			throw new ApiError(res.status, msg)
		}
		connected()
		this.onStatus('ok')
		const decoder = new TextDecoder()
		let buf = ''
		for await (const chunk of res.body) {
			buf += decoder.decode(chunk, { stream: true })
			let end
			while ((end = buf.indexOf('\n\n')) >= 0) {
				const block = buf.slice(0, end)
				buf = buf.slice(end + 2)
				this.dispatch(block)
			}
		}
	}

	dispatch(block) {
		let type = 'message'
		let id = null
		const data = []
		for (const line of block.split('\n')) {
			if (line.startsWith(':')) continue // a keep-alive
			const colon = line.indexOf(':')
			const field = colon < 0 ? line : line.slice(0, colon)
			const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
			if (field === 'event') type = value
			else if (field === 'data') data.push(value)
			else if (field === 'id') id = value
		}
		if (id !== null) this.lastId = id
		if (data.length === 0) return
		let parsed
		try {
			parsed = JSON.parse(data.join('\n'))
		} catch {
			return
		}
		this.onEvent(type, parsed)
	}

	/** close stops the stream and its retries, and waits for them. */
	async close() {
		this.closed = true
		if (this.abort) this.abort.abort()
		clearTimeout(this.timer)
		if (this.wake) this.wake()
		await this.done.catch(() => {})
	}
}

module.exports = { Api, ApiError, EventStream, describe }
