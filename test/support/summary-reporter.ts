import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints the plain `N passed, N failed, N skipped` line CI reads. A file that fails to load, or
 * whose beforeAll/afterAll hook fails (its tests then show as skipped), counts as one more failure.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>) {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of modules) {
      let testFailed = false;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") {
          failed++;
          testFailed = true;
        } else skipped++;
      }
      // A failed file none of whose tests failed: it did not load, or a hook failed.
      if (module.state() === "failed" && !testFailed) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
