// Bitfocus Companion module for Switchyard: the InstanceBase Companion
// runs, handing everything to Switchyard (switchyard.js) with itself as
// the host.

'use strict'

const { InstanceBase, runEntrypoint } = require('@companion-module/base')
const { Switchyard } = require('./switchyard.js')
const { configFields } = require('./config.js')
const { UpgradeScripts } = require('./upgrades.js')

class SwitchyardInstance extends InstanceBase {
	constructor(internal) {
		super(internal)
		this.sy = new Switchyard(this)
	}

	async init(config) {
		this.config = config
		await this.sy.start(config)
	}

	async configUpdated(config) {
		this.config = config
		await this.sy.start(config)
	}

	async destroy() {
		await this.sy.stop()
	}

	getConfigFields() {
		return configFields()
	}
}

runEntrypoint(SwitchyardInstance, UpgradeScripts)
