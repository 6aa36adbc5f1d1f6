import { beforeAll, describe, expect, it } from "vitest";
import { inbox } from "../../../src/platform/consumers/middlewares/inbox.ts";
import { transaction } from "../../../src/platform/consumers/middlewares/transaction.ts";
import { chain, type Decoded, type Outcome } from "../../../src/platform/consumers/message.ts";
import type { Envelope } from "../../../src/platform/events/envelope.ts";
import { createTestEnv, type TestEnv } from "../../support/test-env.ts";
import { entryOf, messageOf, pinged } from "../../support/consumer-messages.ts";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv("mw-inbox", { seed: false });
});

const decoded = (event: Envelope): Decoded => Object.assign(messageOf(entryOf(event)), { envelope: event });

/** transaction → inbox → a handler that counts its calls (and may wait or fail). */
function consumer(group: string, handler: () => Promise<void> = async () => {}) {
  let calls = 0;
  const handle = chain<Decoded>()
    .use(transaction(env.db.pool))
    .use(inbox(group))
    .handle(async (): Promise<Outcome> => {
      calls++;
      await handler();
      return "handled";
    });
  return { handle, calls: () => calls };
}

const recorded = async (eventId: string) =>
  (
    await env.db.pool.query<{ consumer: string }>(
      "SELECT consumer FROM processed_events WHERE event_id = $1 ORDER BY consumer",
      [eventId],
    )
  ).rows.map((r) => r.consumer);

describe("inbox middleware", () => {
  it("records the event and lets it through once; a redelivery is a duplicate and runs nothing", async () => {
    const event = pinged();
    const c = consumer("pinger");
    expect(await c.handle(decoded(event))).toBe("handled");
    expect(await c.handle(decoded(event))).toBe("duplicate");
    expect(c.calls()).toBe(1);
    expect(await recorded(event.eventId)).toEqual(["pinger"]);
  });

  it("dedupes per consumer group: another group handles the same event", async () => {
    const event = pinged();
    expect(await consumer("pinger").handle(decoded(event))).toBe("handled");
    expect(await consumer("auditor").handle(decoded(event))).toBe("handled");
    expect(await recorded(event.eventId)).toEqual(["auditor", "pinger"]);
  });

  it("forgets the event when the handler fails (the inbox row rolls back with it), so a retry handles it", async () => {
    const event = pinged();
    const failing = consumer("pinger", async () => {
      throw new Error("handler failed");
    });
    await expect(failing.handle(decoded(event))).rejects.toThrow("handler failed");
    expect(await recorded(event.eventId)).toEqual([]);
    expect(await consumer("pinger").handle(decoded(event))).toBe("handled");
  });

  it("of two concurrent deliveries of one event, one is handled and the other waits on the row, then is a duplicate", async () => {
    const event = pinged();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = consumer("pinger", () => held);
    const first = slow.handle(decoded(event));
    // The first transaction holds the inbox row; the second blocks on it until the first commits.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fast = consumer("pinger");
    const second = fast.handle(decoded(event));
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    expect(await Promise.all([first, second])).toEqual(["handled", "duplicate"]);
    expect(fast.calls()).toBe(0);
  });
});
