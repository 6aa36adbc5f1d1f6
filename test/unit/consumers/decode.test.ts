import { describe, expect, expectTypeOf, it } from "vitest";
import { decode } from "../../../src/platform/consumers/middlewares/decode.ts";
import { EnvelopeError } from "../../../src/platform/events/envelope.ts";
import { EventRegistry, type EnvelopeOf } from "../../../src/platform/events/registry.ts";
import type { Decoded } from "../../../src/platform/consumers/message.ts";
import { continueTrace } from "../../../src/platform/observability/trace.ts";
import { entryOf, messageOf, pinged, pingEvents, pings } from "../../support/consumer-messages.ts";

const trace = continueTrace();

/** A consumer of Pinged only, over a contract that declares Pinged and Ponged (not Noted, another module's). */
const { Pinged, Ponged } = pingEvents;
const contract = { Pinged, Ponged };
const seen: Decoded<EnvelopeOf<typeof contract>>[] = [];
const decoding = decode({
  registry: pings,
  contract: new EventRegistry(contract),
  handles: (type) => type === "Pinged",
})(async (msg) => {
  // Typed by the contract: the type narrows the payload.
  expectTypeOf(msg.envelope).toEqualTypeOf<EnvelopeOf<typeof contract>>();
  if (msg.envelope.eventType === "Pinged") expectTypeOf(msg.envelope.payload).toEqualTypeOf<{ n: number }>();
  seen.push(msg);
  return "handled";
});

const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (err: unknown) => (err instanceof EnvelopeError ? err.reason : `not an EnvelopeError: ${String(err)}`),
  );

describe("decode middleware", () => {
  it("hands on a handled type's envelope, validated and typed, on the same message", async () => {
    const event = pinged(7);
    const msg = messageOf(entryOf(event));
    expect(await decoding(msg)).toBe("handled");
    expect(seen.at(-1)).toBe(msg);
    expect(msg.envelope).toEqual(event);
  });

  it("skips another module's event on the stream without parsing it", async () => {
    const noted = pings.create("Noted", "n-1", { text: "hi" }, { trace });
    const before = seen.length;
    expect(await decoding(messageOf(entryOf(noted, "{not json")))).toBe("skipped");
    expect(seen.length).toBe(before);
  });

  it.each([
    ["not JSON", () => entryOf(pinged(), "{nope"), "invalid-envelope"],
    ["no envelope", () => entryOf(pinged(), JSON.stringify({ hello: 1 })), "invalid-envelope"],
    ["unknown version", () => entryOf(pinged(), JSON.stringify({ ...pinged(), version: 9 })), "unknown-version"],
    ["bad payload", () => entryOf(pinged(), JSON.stringify({ ...pinged(), payload: { n: "one" } })), "invalid-payload"],
    [
      "unknown type",
      () => ({
        ...entryOf(pinged()),
        type: "Teleported",
        json: JSON.stringify({ ...pinged(), eventType: "Teleported" }),
      }),
      "unknown-event-type",
    ],
    ["unknown type, not JSON", () => ({ ...entryOf(pinged()), type: "Teleported", json: "{nope" }), "invalid-envelope"],
    // The type field routes the entry; a handler must never get another type's payload.
    [
      "type field and envelope disagree",
      () => ({ ...entryOf(pinged()), json: JSON.stringify(pings.create("Ponged", "p-1", { reply: "x" }, { trace })) }),
      "invalid-envelope",
    ],
    [
      "unknown type field over a known envelope",
      () => ({ ...entryOf(pinged()), type: "Teleported" }),
      "invalid-envelope",
    ],
  ])("rejects %s with EnvelopeError %s", async (_what, entry, reason) => {
    const before = seen.length;
    expect(await reasonOf(decoding(messageOf(entry())))).toBe(reason);
    expect(seen.length).toBe(before);
  });
});
