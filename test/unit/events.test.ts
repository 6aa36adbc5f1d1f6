import { describe, expect, it } from "vitest";
import { EnvelopeError } from "../../src/platform/events/envelope.ts";
import { decodeEntry, encodeEntryFields } from "../../src/platform/events/stream-entry.ts";
import { OUTBOX_LANES, fnv1a, laneOf } from "../../src/platform/events/lanes.ts";
import { continueTrace, formatTraceparent, parseTraceparent } from "../../src/platform/observability/trace.ts";
import { eventCatalog } from "../../src/contracts/index.ts";

const trace = continueTrace();
const created = () =>
  eventCatalog.create(
    "OrderCreated",
    "0193a1b2-0000-7000-8000-000000000001",
    {
      customerId: "c1",
      currency: "EUR",
      totalCents: 500,
      items: [{ sku: "A", quantity: 2, unitPriceCents: 250 }],
    },
    { trace },
  );

describe("event envelope", () => {
  it("builds a valid envelope with a UUID v7 id, the trace and ISO time", () => {
    const e = created();
    expect(e.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseTraceparent(e.traceparent)?.traceId).toBe(trace.traceId);
    expect(new Date(e.occurredAt).toISOString()).toBe(e.occurredAt);
    expect(e.aggregateType).toBe("Order");
    expect(e.correlationId).toBe(e.aggregateId);
  });

  it("refuses to build an event whose payload breaks its schema", () => {
    expect(() =>
      eventCatalog.create(
        "OrderCreated",
        "x",
        { customerId: "c1", currency: "eur", totalCents: 1.5, items: [] } as never,
        { trace },
      ),
    ).toThrow(EnvelopeError);
  });

  it.each([
    ["invalid-envelope", { hello: "world" }],
    ["unknown-event-type", { ...created(), eventType: "OrderTeleported" }],
    ["unknown-version", { ...created(), version: 9 }],
    ["invalid-payload", { ...created(), payload: { customerId: "c1" } }],
  ])("classifies a bad envelope as %s", (reason, input) => {
    try {
      eventCatalog.parse(input);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EnvelopeError);
      expect((err as EnvelopeError).reason).toBe(reason);
    }
  });

  it("round-trips through JSON", () => {
    const e = created();
    expect(eventCatalog.parse(JSON.parse(JSON.stringify(e)))).toEqual(e);
  });
});

describe("stream entries", () => {
  it("carry routing fields beside the JSON so readers can filter without parsing", () => {
    const e = created();
    const fields = encodeEntryFields(e, eventCatalog.routingKeys(e));
    const entry = decodeEntry("1-0", fields);
    expect(entry).toMatchObject({ id: "1-0", type: "OrderCreated", aggregateId: e.aggregateId });
    expect(entry.keys).toEqual([`order:${e.aggregateId}`, "customer:c1", "sku:A"]);
    expect(JSON.parse(entry.json)).toEqual(e);
  });

  it("route inventory events by order and sku", () => {
    const e = eventCatalog.create(
      "StockAdjusted",
      "A",
      { sku: "A", delta: 5, onHand: 9, reason: "restock" },
      { trace },
    );
    expect(eventCatalog.routingKeys(e)).toEqual(["sku:A"]);
  });

  it("decode tolerates missing fields (validation happens later)", () => {
    expect(decodeEntry("2-0", ["env", "{}"])).toEqual({ id: "2-0", type: "", aggregateId: "", keys: [], json: "{}" });
  });
});

describe("outbox lanes", () => {
  it("are stable and spread aggregates over all lanes", () => {
    expect(fnv1a("hello")).toBe(0x4f9f2cab);
    const seen = new Set(Array.from({ length: 2000 }, (_, i) => laneOf(`order-${i}`)));
    expect(seen.size).toBe(OUTBOX_LANES);
  });
});

describe("trace context", () => {
  it("continues an incoming traceparent with a new span", () => {
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const child = continueTrace(parent);
    expect(child.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(child.spanId).not.toBe("00f067aa0ba902b7");
    expect(formatTraceparent(child)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  it("gives every new trace and span distinct well-formed ids, across refills of the random pool", () => {
    const traces = Array.from({ length: 1_000 }, () => continueTrace()); // 24 random bytes each: ~6 refills of 4 KiB
    const ids = traces.flatMap((t) => [t.traceId, t.spanId]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const t of traces) expect(parseTraceparent(formatTraceparent(t))).toEqual(t);
  });

  it.each([
    "",
    "garbage",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  ])("starts a fresh trace for an invalid header %j", (header) => {
    expect(parseTraceparent(header)).toBeUndefined();
    expect(continueTrace(header).traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
