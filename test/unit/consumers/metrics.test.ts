import { describe, expect, it } from "vitest";
import { metrics, type ConsumerStats } from "../../../src/platform/consumers/middlewares/metrics.ts";
import type { Message, Outcome } from "../../../src/platform/consumers/message.ts";
import { Metrics } from "../../../src/platform/observability/metrics.ts";
import { entryOf, messageOf, pinged, pings } from "../../support/consumer-messages.ts";

const newStats = (): ConsumerStats => ({
  handled: 0,
  duplicates: 0,
  skipped: 0,
  retried: 0,
  deadLettered: 0,
  claimed: 0,
});

async function valuesOf(m: Metrics, name: string) {
  const metric = await m.registry.getSingleMetricAsString(name);
  return metric.split("\n").filter((l) => !l.startsWith("#"));
}

describe("metrics middleware", () => {
  it("counts every delivery by outcome and records its duration under the event type", async () => {
    const stats = newStats();
    const m = new Metrics();
    const outcomes: Outcome[] = ["handled", "handled", "duplicate", "skipped", "retry", "dead-letter"];
    for (const outcome of outcomes) {
      const handle = metrics({ group: "pinger", stats, metrics: m, known: (t) => pings.has(t) })(async () => outcome);
      expect(await handle(messageOf(entryOf(pinged())))).toBe(outcome);
    }
    expect(stats).toEqual({ handled: 2, duplicates: 1, skipped: 1, retried: 1, deadLettered: 1, claimed: 0 });
    const counts = await valuesOf(m, "consumer_processing_duration_seconds");
    expect(counts).toContain(
      'consumer_processing_duration_seconds_count{group="pinger",event_type="Pinged",outcome="handled"} 2',
    );
    expect(counts).toContain(
      'consumer_processing_duration_seconds_count{group="pinger",event_type="Pinged",outcome="dead-letter"} 1',
    );
  });

  it("counts retries and dead letters by the reason recorded on the message", async () => {
    const stats = newStats();
    const m = new Metrics();
    const known = (t: string) => pings.has(t);
    const retrying = metrics({ group: "pinger", stats, metrics: m, known })(async (msg: Message) => {
      msg.retry = { reason: "infrastructure", delayMs: 10 };
      return "retry";
    });
    await retrying(messageOf(entryOf(pinged())));
    const poisoned = metrics({ group: "pinger", stats, metrics: m, known })(async (msg: Message) => {
      msg.deadLetter = { reason: "unknown-event-type", id: "1-1" };
      return "dead-letter";
    });
    // Poison may carry any type: unknown ones share one label value.
    await poisoned(messageOf({ ...entryOf(pinged()), type: "Teleported" }));
    expect(await valuesOf(m, "consumer_retries_total")).toContain(
      'consumer_retries_total{group="pinger",reason="infrastructure"} 1',
    );
    expect(await valuesOf(m, "consumer_dead_letters_total")).toContain(
      'consumer_dead_letters_total{group="pinger",reason="unknown-event-type"} 1',
    );
    expect(await valuesOf(m, "consumer_processing_duration_seconds")).toContain(
      'consumer_processing_duration_seconds_count{group="pinger",event_type="invalid",outcome="dead-letter"} 1',
    );
  });

  it("counts nothing for a delivery that ends in an error, and keeps stats without a registry", async () => {
    const stats = newStats();
    const failing = metrics({ group: "pinger", stats, known: () => true })(async () => {
      throw new Error("Redis went away");
    });
    await expect(failing(messageOf(entryOf(pinged())))).rejects.toThrow("Redis went away");
    expect(stats).toEqual(newStats());
    await metrics({ group: "pinger", stats, known: () => true })(async () => "handled")(messageOf(entryOf(pinged())));
    expect(stats.handled).toBe(1);
  });
});
