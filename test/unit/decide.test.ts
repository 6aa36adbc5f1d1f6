import { describe, expect, it } from "vitest";
import {
  answerReservationCheck,
  decideOrder,
  type OrderCommand,
  type OrderStatus,
} from "../../src/modules/orders/decide.ts";
import {
  decideAdjust,
  decideOnOrderState,
  decideRelease,
  decideReserve,
  type ReservationStatus,
} from "../../src/modules/inventory/decide.ts";
import { ORDER_STATES, type OrderState } from "../../src/contracts/index.ts";

const statuses: OrderStatus[] = ["PENDING", "CONFIRMED", "REJECTED", "CANCELLED"];

/** Given an order in `status`, when `command` arrives: the decision (then …). */
const given = (status: OrderStatus) => ({ when: (command: OrderCommand) => decideOrder(status, command) });

describe("order state machine", () => {
  it.each([
    ["PENDING", { type: "confirm" }, "transition", "CONFIRMED"],
    ["PENDING", { type: "reject", reason: "r" }, "transition", "REJECTED"],
    ["PENDING", { type: "cancel", reason: "r" }, "transition", "CANCELLED"],
    ["CONFIRMED", { type: "cancel", reason: "r" }, "transition", "CANCELLED"],
    ["CONFIRMED", { type: "confirm" }, "unchanged", undefined],
    ["REJECTED", { type: "reject", reason: "r" }, "unchanged", undefined],
    ["CANCELLED", { type: "confirm" }, "refused", undefined],
    ["CANCELLED", { type: "reject", reason: "r" }, "refused", undefined],
    ["CANCELLED", { type: "cancel", reason: "r" }, "refused", undefined],
    ["REJECTED", { type: "confirm" }, "refused", undefined],
    ["REJECTED", { type: "cancel", reason: "r" }, "refused", undefined],
    ["CONFIRMED", { type: "reject", reason: "r" }, "refused", undefined],
  ] as const)("given %s, when %o, then %s %s", (status, command, outcome, to) => {
    const d = given(status).when(command);
    expect(d.outcome).toBe(outcome);
    if (d.outcome === "transition") expect(d.to).toBe(to);
  });

  it("given a transition, then emits the event that names it, with the reason", () => {
    expect(given("PENDING").when({ type: "reject", reason: "out of stock" })).toEqual({
      outcome: "transition",
      to: "REJECTED",
      event: "OrderRejected",
      reason: "out of stock",
    });
    expect(given("CONFIRMED").when({ type: "cancel", reason: "changed my mind" })).toMatchObject({
      event: "OrderCancelled",
      reason: "changed my mind",
    });
  });

  it("given a terminal state, whatever arrives, never leaves it", () => {
    for (const status of ["REJECTED", "CANCELLED"] as const)
      for (const command of [
        { type: "confirm" },
        { type: "reject", reason: "x" },
        { type: "cancel", reason: "x" },
      ] as const)
        expect(given(status).when(command).outcome).not.toBe("transition");
    expect(statuses).toHaveLength(4);
  });
});

describe("inventory decisions", () => {
  const stock = new Map([
    ["A", { onHand: 10, reserved: 8 }],
    ["B", { onHand: 5, reserved: 0 }],
  ]);

  it("reserves every line when all are available", () => {
    expect(
      decideReserve(
        "PENDING",
        [
          { sku: "A", quantity: 2 },
          { sku: "B", quantity: 5 },
        ],
        stock,
      ),
    ).toEqual({
      outcome: "reserve",
      items: [
        { sku: "A", quantity: 2 },
        { sku: "B", quantity: 5 },
      ],
    });
  });

  it("reserves nothing when any line is short, naming each short sku", () => {
    const d = decideReserve(
      "PENDING",
      [
        { sku: "A", quantity: 3 },
        { sku: "B", quantity: 1 },
        { sku: "Z", quantity: 1 },
      ],
      stock,
    );
    expect(d).toMatchObject({
      outcome: "reject",
      shortSkus: [
        { sku: "A", requested: 3, available: 2 },
        { sku: "Z", requested: 1, available: 0 },
      ],
    });
    expect(d.outcome === "reject" && d.reason).toContain("A (requested 3, available 2)");
  });

  it.each(["RESERVED", "REJECTED", "RELEASED"] as const)("does not reserve again when %s", (status) => {
    expect(decideReserve(status, [{ sku: "B", quantity: 1 }], stock).outcome).toBe("unchanged");
  });

  it("releases exactly what was reserved; a cancel before the reservation leaves a tombstone", () => {
    expect(decideRelease("RESERVED", [{ sku: "A", quantity: 2 }])).toEqual({
      outcome: "release",
      items: [{ sku: "A", quantity: 2 }],
    });
    expect(decideRelease("PENDING", [])).toEqual({ outcome: "tombstone" });
    expect(decideRelease("RELEASED", []).outcome).toBe("unchanged");
    expect(decideRelease("REJECTED", []).outcome).toBe("unchanged");
  });

  it("adjusts on hand but never below what is reserved", () => {
    expect(decideAdjust({ onHand: 10, reserved: 8 }, 5)).toEqual({ outcome: "adjust", onHand: 15 });
    expect(decideAdjust({ onHand: 10, reserved: 8 }, -2)).toEqual({ outcome: "adjust", onHand: 8 });
    expect(decideAdjust({ onHand: 10, reserved: 8 }, -3).outcome).toBe("refused");
  });
});

describe("orphan reservations: what inventory does once it learns an order's state", () => {
  const held = [{ sku: "A", quantity: 2 }];
  const reservations: ReservationStatus[] = ["PENDING", "RESERVED", "REJECTED", "RELEASED"];
  /** Stock may stay reserved only for a PENDING or CONFIRMED order. */
  const mayHold = (state: OrderState) => state === "PENDING" || state === "CONFIRMED";

  it.each(ORDER_STATES.flatMap((state) => reservations.map((status) => [state, status] as const)))(
    "given an order %s and a reservation %s, stock stays held only if the order may hold it",
    (state, status) => {
      const d = decideOnOrderState(state, status, status === "RESERVED" ? held : []);
      const stillHeld = status === "RESERVED" && !(d.outcome === "release" && d.decision.outcome === "release");
      expect(stillHeld).toBe(status === "RESERVED" && mayHold(state));
      if (d.outcome === "release" && d.decision.outcome === "release") expect(d.decision.items).toEqual(held);
    },
  );

  it("a CONFIRMED order verifies its reservation (the reconciliation stops asking); PENDING keeps it unverified", () => {
    expect(decideOnOrderState("CONFIRMED", "RESERVED", held)).toEqual({ outcome: "verify" });
    expect(decideOnOrderState("PENDING", "RESERVED", held).outcome).toBe("unchanged");
    expect(decideOnOrderState("CONFIRMED", "REJECTED", []).outcome).toBe("unchanged");
  });

  it.each(["REJECTED", "CANCELLED", "UNKNOWN"] as const)(
    "an order %s with nothing reserved yet leaves a tombstone, so a late or replayed OrderCreated reserves nothing",
    (state) => {
      const d = decideOnOrderState(state, "PENDING", []);
      expect(d).toEqual({ outcome: "release", decision: { outcome: "tombstone" } });
      expect(decideReserve("RELEASED", held, new Map([["A", { onHand: 9, reserved: 0 }]])).outcome).toBe("unchanged");
    },
  );

  it("the orders module answers a check with the order's status, or UNKNOWN when there is no such order", () => {
    for (const status of statuses) expect(answerReservationCheck(status)).toBe(status);
    expect(answerReservationCheck(undefined)).toBe("UNKNOWN");
  });
});
