import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/platform/observability/metrics.ts";

describe("readiness metrics (ReadinessFlapping alert)", () => {
  it("records each outcome and counts changes, passing results and errors through", async () => {
    const metrics = new Metrics();
    const outcomes = [true, true, false, false, true, false];
    let i = 0;
    const check = metrics.trackReadiness(async () => {
      if (!outcomes[i++]) throw new Error("redis: timeout");
      return "ok";
    });
    const seen: (number | undefined)[] = [];
    for (let n = 0; n < outcomes.length; n++) {
      if (outcomes[n]) await expect(check()).resolves.toBe("ok");
      else await expect(check()).rejects.toThrow("redis: timeout");
      seen.push((await metrics.ready.get()).values[0]?.value);
    }
    expect(seen).toEqual([1, 1, 0, 0, 1, 0]);
    // ready → not ready → ready → not ready: three changes; repeats are not changes.
    expect((await metrics.readinessChanges.get()).values[0]?.value).toBe(3);
  });
});
