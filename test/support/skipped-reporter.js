/**
 * Jest hides the console output of a test file whose tests were all skipped, so the loud
 * "suite SKIPPED" warnings of server-backed contract suites would vanish in a full run.
 * This reporter repeats them at the very end of every run.
 */
class SkippedSuitesReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.testResults
      .flatMap((file) => file.testResults)
      .filter((test) => test.status === 'pending' && test.title.includes('SKIPPED'))
      .map((test) => test.title);
    if (skipped.length === 0) return;
    process.stderr.write(`\n${skipped.map((title) => `*** ${title} ***`).join('\n')}\n\n`);
  }
}
module.exports = SkippedSuitesReporter;
