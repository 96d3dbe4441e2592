// Upgrade scripts: each turns the actions, feedbacks and config saved by an
// older version of this module into the current ones, in order. A script is
// added here whenever an action or feedback id or option changes, and none
// is ever removed; version 1.0.0 is the first, so there is nothing to
// upgrade yet.

'use strict'

const UpgradeScripts = []

module.exports = { UpgradeScripts }
