// The e2e runner: files in parallel, then the `serial` ones (runner option: file names) one at a
// time, with nothing beside them. Jest runs the runners of different projects one after another.
const { default: TestRunner } = require('jest-runner');
const { basename } = require('node:path');

module.exports = class E2eRunner extends TestRunner {
  constructor(globalConfig, context, options = {}) {
    super(globalConfig, context);
    this.serial = new Set(options.serial ?? []);
  }

  async runTests(tests, watcher, options) {
    const alone = (test) => this.serial.has(basename(test.path));
    const parallel = tests.filter((test) => !alone(test));
    const serial = tests.filter(alone);
    if (parallel.length) await super.runTests(parallel, watcher, options);
    if (serial.length && !watcher.isInterrupted()) await super.runTests(serial, watcher, { ...options, serial: true });
  }
};
