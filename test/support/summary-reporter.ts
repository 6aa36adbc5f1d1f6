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
      let tests = 0;
      for (const test of module.children.allTests()) {
        tests++;
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      const hookFailed = module.state() === "failed" && ![...module.children.allTests()].some((t) => t.result().state === "failed");
      if (hookFailed) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
