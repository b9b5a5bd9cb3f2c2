// Prints one plain closing line, "N passed, N failed, N skipped", that any CI can read.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const {
      numPassedTests: passed,
      numFailedTests: failed,
      numPendingTests: skipped,
      numTodoTests: todo,
    } = results;
    const suitesFailed = results.numFailedTestSuites;
    process.stdout.write(
      `\njest: ${passed} passed, ${failed + (failed === 0 && suitesFailed > 0 ? suitesFailed : 0)} failed, ${skipped + todo} skipped\n`,
    );
  }
}
module.exports = SummaryReporter;
