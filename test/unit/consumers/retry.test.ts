import { describe, expect, it } from "vitest";
import { retry } from "../../../src/platform/consumers/middlewares/retry.ts";
import { Poisoned } from "../../../src/platform/consumers/failure-policy.ts";
import { PermanentError } from "../../../src/platform/consumers/types.ts";
import { EnvelopeError } from "../../../src/platform/events/envelope.ts";
import type { Message } from "../../../src/platform/consumers/message.ts";
import { capturingLogger, entryOf, messageOf, pinged } from "../../support/consumer-messages.ts";

const limits = { maxDeliveries: 3, retryBaseMs: 100, retryMaxMs: 1_000 };
const outage = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

function failingWith(err: unknown, deliveries: number) {
  const { log, lines } = capturingLogger();
  const msg: Message = messageOf(entryOf(pinged()), deliveries);
  const result = retry({ group: "pinger", log, ...limits })(async () => {
    throw err;
  })(msg);
  return { msg, lines, result };
}

const poisonReason = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (err: unknown) => (err instanceof Poisoned ? err.reason : `not Poisoned: ${String(err)}`),
  );

describe("retry middleware", () => {
  it("passes a success through untouched", async () => {
    const msg = messageOf(entryOf(pinged()));
    expect(await retry({ group: "pinger", log: capturingLogger().log, ...limits })(async () => "handled")(msg)).toBe(
      "handled",
    );
    expect(msg.retry).toBeUndefined();
  });

  it("asks for another attempt after a backoff while deliveries remain, and logs why", async () => {
    for (const deliveries of [1, 2]) {
      const { msg, lines, result } = failingWith(new Error("deadlock detected"), deliveries);
      expect(await result).toBe("retry");
      expect(msg.retry!.reason).toBe("handler-error");
      // Full jitter: anywhere up to base · 2^deliveries.
      expect(msg.retry!.delayMs).toBeGreaterThanOrEqual(0);
      expect(msg.retry!.delayMs).toBeLessThanOrEqual(100 * 2 ** deliveries);
      expect(lines).toEqual([
        expect.objectContaining({
          msg: "event failed; will retry",
          group: "pinger",
          eventType: "Pinged",
          entryId: "1-0",
          deliveries,
          retryInMs: msg.retry!.delayMs,
          err: expect.objectContaining({ message: "deadlock detected" }),
        }),
      ]);
    }
  });

  it("gives up after maxDeliveries: the failure goes on as Poisoned, for the poison middleware", async () => {
    const { msg, lines, result } = failingWith(new Error("deadlock detected"), 3);
    expect(await poisonReason(result)).toBe("max-deliveries-exceeded");
    expect(msg.retry).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it("retries outages forever, as infrastructure (the router pauses its reads)", async () => {
    const { msg, result } = failingWith(outage(), 50);
    expect(await result).toBe("retry");
    expect(msg.retry!.reason).toBe("infrastructure");
    expect(msg.retry!.delayMs).toBeLessThanOrEqual(limits.retryMaxMs);
  });

  it.each([
    ["an invalid envelope", new EnvelopeError("invalid-payload", "bad"), "invalid-payload"],
    ["a permanent error", new PermanentError("order does not exist"), "permanent-error"],
  ])("never retries %s", async (_what, err, reason) => {
    const { result } = failingWith(err, 1);
    const poisoned = await result.catch((e: unknown) => e);
    expect(poisoned).toBeInstanceOf(Poisoned);
    expect(poisoned).toMatchObject({ reason, error: err, message: err.message });
  });

  it("uses the classification it is given", async () => {
    const { log } = capturingLogger();
    const msg = messageOf(entryOf(pinged()), 9);
    const handle = retry({ group: "pinger", log, ...limits, isInfrastructure: (err) => err === "the disk is full" })(
      async () => {
        throw "the disk is full";
      },
    );
    expect(await handle(msg)).toBe("retry");
    expect(msg.retry!.reason).toBe("infrastructure");
    expect(await poisonReason(failingWith("the disk is full", 9).result)).toBe("max-deliveries-exceeded");
  });
});
