import { afterEach, describe, expect, it, vi } from "vitest";
import { decideFailure } from "../../src/platform/consumers/failure-policy.ts";
import { PermanentError } from "../../src/platform/consumers/types.ts";
import { EnvelopeError } from "../../src/platform/events/envelope.ts";

const limits = { maxDeliveries: 5, retryBaseMs: 100, retryMaxMs: 2_000 };
const handlerError = () => false; // isInfrastructure: the database and Redis are fine
const outage = () => true;

/** Given an error and how often the entry was delivered, when the policy decides, then … */
const given = (err: unknown, deliveries: number, isInfrastructure = handlerError) => ({
  decision: decideFailure(err, deliveries, limits, isInfrastructure),
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("failure policy", () => {
  it.each(["invalid-envelope", "unknown-event-type", "unknown-version", "invalid-payload"] as const)(
    "given a bad envelope (%s), then dead-letters it at once with that reason",
    (reason) => {
      expect(given(new EnvelopeError(reason, "bad"), 1).decision).toEqual({ action: "dead-letter", reason });
    },
  );

  it("given a permanent error, then dead-letters it at once", () => {
    expect(given(new PermanentError("order does not exist"), 1).decision).toEqual({
      action: "dead-letter",
      reason: "permanent-error",
    });
  });

  it("given a bad envelope or a permanent error during an outage, then still dead-letters it (retrying cannot help)", () => {
    expect(given(new EnvelopeError("invalid-payload", "bad"), 1, outage).decision).toMatchObject({
      action: "dead-letter",
      reason: "invalid-payload",
    });
    expect(given(new PermanentError("no"), 1, outage).decision).toMatchObject({
      action: "dead-letter",
      reason: "permanent-error",
    });
  });

  it("given a handler error, then retries with exponential, capped, jittered back-off, and dead-letters the delivery that reaches the limit", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const delays = [1, 2, 3, 4].map((deliveries) => given(new Error("boom"), deliveries).decision);
    expect(delays).toEqual([100, 200, 400, 800].map((delayMs) => ({ action: "retry", delayMs })));
    expect(given(new Error("boom"), 5).decision).toEqual({ action: "dead-letter", reason: "max-deliveries-exceeded" });
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    expect(given(new Error("boom"), 4).decision).toEqual({ action: "retry", delayMs: 1_600 });
    expect(
      decideFailure(new Error("boom"), 4, { ...limits, maxDeliveries: 10, retryMaxMs: 1_000 }, handlerError),
    ).toEqual({ action: "retry", delayMs: 1_000 });
  });

  it("given an infrastructure outage, then retries however often the entry was delivered, never longer apart than the cap", () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    for (const deliveries of [1, 5, 6, 100, 10_000]) {
      const decision = given(new Error("ECONNREFUSED"), deliveries, outage).decision;
      expect(decision.action, `delivery ${deliveries}`).toBe("retry");
      expect(decision.action === "retry" && decision.delayMs).toBeLessThanOrEqual(limits.retryMaxMs);
    }
    expect(given(new Error("ECONNREFUSED"), 10_000, outage).decision).toEqual({
      action: "retry",
      delayMs: limits.retryMaxMs,
    });
  });
});
