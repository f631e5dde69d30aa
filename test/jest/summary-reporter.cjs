// One plain closing line after Jest's own summary, e.g. "178 passed, 0 failed, 0 skipped", so a
// log reader (or a CI step) can tell at a glance how the run ended.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    console.log(`${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped`);
  }
}
module.exports = SummaryReporter;
