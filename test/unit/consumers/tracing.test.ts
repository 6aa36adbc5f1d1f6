import { describe, expect, it } from "vitest";
import { tracing } from "../../../src/platform/consumers/middlewares/tracing.ts";
import type { Decoded, Outcome, Traced } from "../../../src/platform/consumers/message.ts";
import { parseTraceparent } from "../../../src/platform/observability/trace.ts";
import type { Envelope } from "../../../src/platform/events/envelope.ts";
import { capturingLogger, entryOf, messageOf, pinged } from "../../support/consumer-messages.ts";

function decoded(event: Envelope): Decoded {
  return Object.assign(messageOf(entryOf(event)), { envelope: event });
}

function run(event: Envelope, inner: (msg: Traced) => Promise<Outcome>) {
  const { log, lines } = capturingLogger();
  const handle = tracing({ group: "pinger", log })(inner);
  return { lines, result: handle(decoded(event)) };
}

describe("tracing middleware", () => {
  it("continues the event's trace in a span of its own: the cause of what the handler emits", async () => {
    const event = pinged();
    const incoming = parseTraceparent(event.traceparent)!;
    let seen: Traced | undefined;
    const { result } = run(event, async (msg) => {
      seen = msg;
      return "handled";
    });
    expect(await result).toBe("handled");
    expect(seen!.cause.trace.traceId).toBe(incoming.traceId);
    expect(seen!.cause.trace.spanId).not.toBe(incoming.spanId);
    expect(seen!.cause).toMatchObject({ correlationId: event.correlationId, causationId: event.eventId });
  });

  it("logs a handled event with its trace id, what it emitted and how long it took", async () => {
    const event = pinged();
    const reply = pinged(2);
    const { lines, result } = run(event, async (msg) => {
      msg.log.info("inside the handler");
      msg.emitted = [reply];
      return "handled";
    });
    await result;
    const traceId = parseTraceparent(event.traceparent)!.traceId;
    const context = {
      traceId,
      eventId: event.eventId,
      eventType: "Pinged",
      aggregateId: event.aggregateId,
      group: "pinger",
    };
    expect(lines.find((l) => l.msg === "inside the handler")).toMatchObject(context);
    const handled = lines.find((l) => l.msg === "event handled");
    expect(handled).toMatchObject({ ...context, emitted: ["Pinged"] });
    expect(handled!.ms).toEqual(expect.any(Number));
  });

  it("logs a duplicate as skipped, and nothing for outcomes reported further out", async () => {
    const duplicate = run(pinged(), async () => "duplicate");
    expect(await duplicate.result).toBe("duplicate");
    expect(duplicate.lines.map((l) => l.msg)).toEqual(["event already processed; skipped"]);
    const failing = run(pinged(), async () => {
      throw new Error("handler broke");
    });
    await expect(failing.result).rejects.toThrow("handler broke");
    expect(failing.lines).toEqual([]);
  });
});
