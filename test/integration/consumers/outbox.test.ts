import { beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../src/platform/consumers/middlewares/outbox.ts";
import { transaction } from "../../../src/platform/consumers/middlewares/transaction.ts";
import { chain, type Message, type Outcome } from "../../../src/platform/consumers/message.ts";
import type { Envelope } from "../../../src/platform/events/envelope.ts";
import { continueTrace } from "../../../src/platform/observability/trace.ts";
import { createTestEnv, type TestEnv } from "../../support/test-env.ts";
import { entryOf, messageOf, pinged, pings } from "../../support/consumer-messages.ts";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv("mw-outbox", { seed: false });
});

/** transaction → outbox → a handler that emits `events` (and may then fail). */
const emitting = (events: Envelope[] | undefined, fail = false) =>
  chain<Message>()
    .use(transaction(env.db.pool))
    .use(outbox(pings))
    .handle(async (msg): Promise<Outcome> => {
      msg.emitted = events;
      if (fail) throw new Error("commit never happens");
      return "handled";
    });

const rowsOf = async (aggregateId: string) =>
  (
    await env.db.pool.query<{
      event_id: string;
      stream: string;
      event_type: string;
      aggregate_type: string;
      envelope: Envelope;
    }>(
      "SELECT event_id, stream, event_type, aggregate_type, envelope FROM outbox WHERE aggregate_id = $1 ORDER BY id",
      [aggregateId],
    )
  ).rows;

describe("outbox middleware", () => {
  it("appends what the handler emitted to the outbox, in its transaction, on the type's stream", async () => {
    const a = pinged(1, "agg-emits");
    const b = pings.create("Ponged", "agg-emits", { reply: "pong" }, { trace: continueTrace() });
    expect(await emitting([a, b])(messageOf(entryOf(pinged())))).toBe("handled");
    const rows = await rowsOf("agg-emits");
    expect(rows.map((r) => [r.event_id, r.stream, r.event_type, r.aggregate_type])).toEqual([
      [a.eventId, "pings", "Pinged", "Ping"],
      [b.eventId, "pings", "Ponged", "Ping"],
    ]);
    expect(rows[1]!.envelope).toEqual(b);
  });

  it("writes nothing when nothing was emitted", async () => {
    const before = (await env.db.pool.query("SELECT count(*)::int AS n FROM outbox")).rows[0].n;
    expect(await emitting([])(messageOf(entryOf(pinged())))).toBe("handled");
    expect(await emitting(undefined)(messageOf(entryOf(pinged())))).toBe("handled");
    expect((await env.db.pool.query("SELECT count(*)::int AS n FROM outbox")).rows[0].n).toBe(before);
  });

  it("emits nothing when the handler's transaction fails", async () => {
    await expect(emitting([pinged(1, "agg-fails")], true)(messageOf(entryOf(pinged())))).rejects.toThrow(
      "commit never happens",
    );
    expect(await rowsOf("agg-fails")).toEqual([]);
  });
});
