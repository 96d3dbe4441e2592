// The connection's settings: where Switchyard is, and its token.

'use strict'

const { Regex } = require('@companion-module/base')

function configFields() {
	return [
		{ type: 'static-text', id: 'info', width: 12, label: 'Switchyard', value: 'The host and port of http.listen, and a token of http.tokens (a director’s runs the show; an admin’s also starts and stops outputs). Leave the token empty for a server without one.' },
		{ type: 'textinput', id: 'host', label: 'Host', width: 6, default: '127.0.0.1', regex: Regex.HOSTNAME },
		{ type: 'number', id: 'port', label: 'Port', width: 3, default: 8080, min: 1, max: 65535 },
		{ type: 'checkbox', id: 'https', label: 'HTTPS (behind a TLS proxy)', width: 3, default: false },
		{ type: 'textinput', id: 'token', label: 'Token', width: 12, default: '' },
	]
}

/** baseURL returns the server's URL from the config, or throws saying what is wrong. */
function baseURL(config) {
	const host = String((config && config.host) || '').trim()
	const port = Number(config && config.port)
	if (!host) throw new Error('set the host of Switchyard (http.listen)')
	if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('set the port of Switchyard (http.listen), 1–65535')
	const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
	return `${config.https ? 'https' : 'http'}://${h}:${port}`
}

module.exports = { configFields, baseURL }
