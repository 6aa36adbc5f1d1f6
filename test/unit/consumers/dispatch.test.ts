import { describe, expect, expectTypeOf, it } from "vitest";
import { dispatch, handleWith } from "../../../src/platform/consumers/dispatch.ts";
import { PermanentError, type HandlerContext, type Handlers } from "../../../src/platform/consumers/types.ts";
import type { SqlTx } from "../../../src/platform/infra/sql-transaction.ts";
import type { Envelope } from "../../../src/platform/events/envelope.ts";
import type { EnvelopeOf } from "../../../src/platform/events/registry.ts";
import { continueTrace } from "../../../src/platform/observability/trace.ts";
import { capturingLogger, entryOf, messageOf, pinged, pingEvents, pings } from "../../support/consumer-messages.ts";

type Pings = typeof pingEvents;
const trace = continueTrace();
const ctx: HandlerContext = { cause: { trace }, log: capturingLogger().log, count: () => {} };
/** Handlers here write nothing; a transaction that refuses any statement proves it. */
const noTx: SqlTx = {
  $queryRaw: () => Promise.reject(new Error("no statements in this test")),
  $executeRaw: () => Promise.reject(new Error("no statements in this test")),
};

const calls: string[] = [];
const handlers: Handlers<Pings> = {
  Pinged: async (_tx, event) => {
    expectTypeOf(event.payload).toEqualTypeOf<{ n: number }>();
    calls.push(`Pinged ${event.payload.n}`);
    return [pings.create("Ponged", event.aggregateId, { reply: `pong ${event.payload.n}` }, { trace })];
  },
  Ponged: async (_tx, event) => {
    expectTypeOf(event.payload).toEqualTypeOf<{ reply: string }>();
    calls.push(`Ponged ${event.payload.reply}`);
    return [];
  },
};

describe("typed dispatch", () => {
  it("calls the handler of the envelope's type with that envelope", async () => {
    const event: EnvelopeOf<Pings> = pings.parseJson(JSON.stringify(pinged(4)));
    const emitted = await dispatch(handlers, noTx, event, ctx);
    expect(emitted.map((e) => [e.eventType, e.payload])).toEqual([["Ponged", { reply: "pong 4" }]]);
    await dispatch(handlers, noTx, pings.create("Ponged", "p-1", { reply: "hi" }, { trace }), ctx);
    expect(calls.slice(-2)).toEqual(["Pinged 4", "Ponged hi"]);
  });

  it("refuses a type the consumer has no handler for (decode lets none through)", async () => {
    const noted = pings.create("Noted", "n-1", { text: "x" }, { trace });
    await expect(dispatch(handlers, noTx, noted, ctx)).rejects.toBeInstanceOf(PermanentError);
  });

  it("is checked by the compiler: a handler only ever gets its own type's envelope", () => {
    const ponged = pings.create("Ponged", "p-1", { reply: "hi" }, { trace });
    // @ts-expect-error a Ponged envelope is not a Pinged handler's argument
    void handlers.Pinged?.(noTx, ponged, ctx);
    const untyped: Envelope = ponged;
    // @ts-expect-error an envelope not validated against the contract cannot be dispatched
    void (() => dispatch(handlers, noTx, untyped, ctx));
  });

  it("ends the chain: records what the handler emitted for the outbox, and says handled", async () => {
    const event = pings.parseJson(JSON.stringify(pinged(5)));
    const msg = Object.assign(messageOf(entryOf(event)), { envelope: event, tx: noTx, ...ctx });
    expect(await handleWith(handlers)(msg)).toBe("handled");
    expect(msg.emitted!.map((e) => e.payload)).toEqual([{ reply: "pong 5" }]);
  });
});
