import { describe, expect, it } from "vitest";
import { eventIdOf, RecentEvents, ReplayDedupe } from "../../src/platform/live/dedupe.ts";

describe("eventIdOf", () => {
  it("reads the envelope's eventId from JSON.stringify and jsonb spellings, not a nested one", () => {
    const id = "0193a1b2-0000-7000-8000-000000000001";
    expect(eventIdOf(JSON.stringify({ eventId: id, eventType: "X", payload: { eventId: "other" } }))).toBe(id);
    expect(eventIdOf(`{"eventId": "${id}", "payload": {"eventId": "other"}}`)).toBe(id);
    expect(eventIdOf(JSON.stringify({ eventType: 'say "eventId":"fake"', eventId: id }))).toBe(id);
    expect(eventIdOf("{}")).toBeNull();
  });
});

describe("RecentEvents (the hub's exactly-once window)", () => {
  it("flags a later entry with a remembered eventId as a copy, not the original read again", () => {
    const r = new RecentEvents(3);
    expect(r.observe("a", "1-0")).toBe(false);
    expect(r.observe("b", "2-0")).toBe(false);
    expect(r.observe("a", "3-0")).toBe(true);
    expect(r.observe("a", "1-0")).toBe(false); // a re-read of the original
    expect(r.isKnownCopy("a", "3-0")).toBe(true);
    expect(r.isKnownCopy("a", "1-0")).toBe(false);
    expect(r.isKnownCopy("b", "2-0")).toBe(false);
  });

  it("forgets the oldest distinct events beyond its capacity and says from where it is exact", () => {
    const r = new RecentEvents(2);
    r.observe("a", "1-0");
    r.observe("b", "2-0");
    expect(r.covers("0-0")).toBe(true);
    r.observe("c", "3-0"); // "a" forgotten
    expect(r.size).toBe(2);
    expect(r.covers("1-0")).toBe(false);
    expect(r.covers("1-1")).toBe(true);
    expect(r.observe("a", "4-0")).toBe(false); // beyond the window: not recognised
  });

  it("does nothing with capacity 0 (dedupe off) or without an eventId", () => {
    const off = new RecentEvents(0);
    off.observe("a", "1-0");
    expect(off.observe("a", "2-0")).toBe(false);
    expect(new RecentEvents(5).observe(null, "1-0")).toBe(false);
  });
});

describe("ReplayDedupe", () => {
  it("remembers what a replay read, bounded", () => {
    const d = new ReplayDedupe(2);
    expect(d.seenBefore("a")).toBe(false);
    expect(d.seenBefore("a")).toBe(true);
    d.seenBefore("b");
    d.seenBefore("c");
    expect(d.has("a")).toBe(false);
    expect(d.has("c")).toBe(true);
  });
});
