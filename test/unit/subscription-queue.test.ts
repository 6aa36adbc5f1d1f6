import { describe, expect, it } from "vitest";
import { SubscriptionQueue } from "../../src/platform/live/subscription-queue.ts";

describe("subscription queue", () => {
  it("hands items in order, to a waiting reader directly, and ends cleanly", async () => {
    let closed = 0;
    const q = new SubscriptionQueue<{ cursor: string }>(2, () => closed++);
    const waiting = q.next();
    q.push({ cursor: "1" });
    expect(await waiting).toEqual({ value: { cursor: "1" }, done: false });
    q.push({ cursor: "2" });
    q.push({ cursor: "3" });
    expect((await q.next()).value).toEqual({ cursor: "2" });
    await q.return();
    expect(await q.next()).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });

  it("fails a waiting reader when closed with an error", async () => {
    const q = new SubscriptionQueue<{ cursor: string }>(2, () => {});
    const waiting = q.next();
    q.fail(new Error("shutting down"));
    await expect(waiting).rejects.toThrow("shutting down");
  });
});
