import { describe, expect, it } from "vitest";
import { safeTrimId } from "../../src/platform/retention/trim-floor.ts";
import { compareIds, nextId } from "../../src/platform/events/stream-ids.ts";

describe("trim floor", () => {
  it("never passes the oldest pending entry or the first unread one of any group", () => {
    expect(safeTrimId("100-0", [])).toBe("100-0");
    expect(safeTrimId("100-0", [{ lastDeliveredId: "200-0", oldestPendingId: null }])).toBe("100-0");
    expect(safeTrimId("100-0", [{ lastDeliveredId: "50-3", oldestPendingId: null }])).toBe("50-4");
    expect(
      safeTrimId("100-0", [
        { lastDeliveredId: "90-0", oldestPendingId: "40-1" },
        { lastDeliveredId: "95-0", oldestPendingId: null },
      ]),
    ).toBe("40-1");
  });

  it("compares ids numerically, not as text", () => {
    expect(compareIds("9-0", "10-0")).toBe(-1);
    expect(compareIds("10-10", "10-9")).toBe(1);
    expect(compareIds("18446744073709551615-0", "18446744073709551614-99")).toBe(1);
    expect(compareIds("999999999999999-0", "1000000000000000-0")).toBe(-1); // across the fast path's bound
    expect(compareIds("1732530000000-18446744073709551615", "1732530000000-18446744073709551614")).toBe(1);
    expect(compareIds("007-1", "7-1")).toBe(0);
    expect(compareIds("5", "5-0")).toBe(0);
    expect(nextId("10-9")).toBe("10-10");
  });
});
