import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { codeOf, collect, dataOf, firstError, gql, gqlOk, typed, wsClient } from "../support/graphql-clients.ts";
import {
  CANCEL_ORDER,
  ORDER_EVENTS,
  ORDER_HISTORY,
  RESTOCK,
  placeOrder,
  type OrderLine,
  type OrderStatus,
} from "../support/documents.ts";
import { delay, waitFor } from "../support/wait.ts";
import type { RunningApp } from "../../src/app.ts";

let env: TestEnv;
let app: RunningApp;
let port: number;

const orderOf = (id: string) => env.db.prisma.order.findUniqueOrThrow({ where: { id } });
const stockOf = (sku: string) => env.db.prisma.stockLevel.findUniqueOrThrow({ where: { sku } });
const settled = (id: string) =>
  waitFor(async () => ((await orderOf(id)).status !== "PENDING" ? orderOf(id) : null), {
    what: `order ${id} to settle`,
  });

beforeAll(async () => {
  env = await createTestEnv("saga");
  app = await env.start(["api", "relay", "inventory", "orders"]);
  port = app.port!;
});

describe("order saga", () => {
  it("confirms an order whose stock is available and reserves it", async () => {
    const before = await stockOf("SKU-007");
    const { id } = (
      await placeOrder(port, {
        customerId: "c1",
        items: [
          { sku: "SKU-007", quantity: 4 },
          { sku: "SKU-013", quantity: 1 },
        ],
      })
    ).order;
    expect((await settled(id)).status).toBe("CONFIRMED");
    const after = await stockOf("SKU-007");
    expect(after.reserved - before.reserved).toBe(4);
    expect(after.onHand).toBe(before.onHand);
    const reservation = await env.db.prisma.reservation.findUniqueOrThrow({
      where: { orderId: id },
      include: { items: { orderBy: { sku: "asc" } } },
    });
    expect(reservation.status).toBe("RESERVED");
    expect(reservation.items.map((i) => [i.sku, i.quantity])).toEqual([
      ["SKU-007", 4],
      ["SKU-013", 1],
    ]);
  });

  it("rejects an order it cannot fill, with the reason, and reserves nothing of any line", async () => {
    const [a, b] = await Promise.all([stockOf("SKU-001"), stockOf("SKU-019")]);
    const { id } = (
      await placeOrder(port, {
        customerId: "c1",
        items: [
          { sku: "SKU-001", quantity: 1 },
          { sku: "SKU-019", quantity: 11 },
        ],
      })
    ).order;
    const order = await settled(id);
    expect(order.status).toBe("REJECTED");
    expect(order.rejectReason).toBe("insufficient stock: SKU-019 (requested 11, available 10)");
    expect(await stockOf("SKU-001")).toMatchObject({ reserved: a.reserved });
    expect(await stockOf("SKU-019")).toMatchObject({ reserved: b.reserved });
  });

  it("cancels a confirmed order and gives its stock back; a second cancel is a CONFLICT", async () => {
    const before = await stockOf("SKU-010");
    const { id } = (await placeOrder(port, { customerId: "c2", items: [{ sku: "SKU-010", quantity: 3 }] })).order;
    await settled(id);
    expect((await stockOf("SKU-010")).reserved).toBe(before.reserved + 3);

    const res = await gql(port, CANCEL_ORDER, { id, reason: "found it cheaper" });
    expect(dataOf(res).cancelOrder.order).toEqual({ id, status: "CANCELLED", cancelReason: "found it cheaper" });
    await waitFor(async () => (await stockOf("SKU-010")).reserved === before.reserved, { what: "stock release" });
    expect((await env.db.prisma.reservation.findUniqueOrThrow({ where: { orderId: id } })).status).toBe("RELEASED");

    const again = await gql(port, CANCEL_ORDER, { id });
    expect(firstError(again).extensions).toMatchObject({ code: "CONFLICT", field: "id" });
    expect(firstError(again).message).toContain("order is CANCELLED");
  });

  it("cancels a rejected order? no: CONFLICT. Unknown or malformed ids: NOT_FOUND and BAD_USER_INPUT", async () => {
    const rejected = (await placeOrder(port, { customerId: "c3", items: [{ sku: "SKU-019", quantity: 500 }] })).order
      .id;
    await settled(rejected);
    expect(codeOf(await gql(port, CANCEL_ORDER, { id: rejected }))).toBe("CONFLICT");
    expect(codeOf(await gql(port, CANCEL_ORDER, { id: "01a21254-e1f1-7133-a952-4507e303b4d9" }))).toBe("NOT_FOUND");
    expect(firstError(await gql(port, CANCEL_ORDER, { id: "42" })).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "id",
    });
  });

  it("restocks through the API, emits StockAdjusted, and refuses bad restocks", async () => {
    const before = await stockOf("SKU-012");
    const res = await gqlOk(port, RESTOCK, { sku: "SKU-012", quantity: 7 });
    expect(res.restock.product).toEqual({ sku: "SKU-012", available: before.onHand - before.reserved + 7 });
    expect(codeOf(await gql(port, RESTOCK, { sku: "NOPE", quantity: 1 }))).toBe("NOT_FOUND");
    expect(firstError(await gql(port, RESTOCK, { sku: "SKU-012", quantity: 0 })).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "quantity",
    });
    expect(firstError(await gql(port, RESTOCK, { sku: "SKU-012", quantity: 1_000_000 })).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "quantity",
    });
    const history = await waitFor(async () => {
      const { inventoryHistory } = await gqlOk(
        port,
        `{ inventoryHistory(sku: "SKU-012") { __typename ... on StockAdjusted { delta onHand reason } } }`,
      );
      return inventoryHistory.length ? inventoryHistory : null;
    });
    expect(history).toEqual([{ __typename: "StockAdjusted", delta: 7, onHand: before.onHand + 7, reason: "restock" }]);
  });

  it("keeps the whole lifecycle on the streams: orderHistory and inventoryHistory read them in order", async () => {
    const { id } = (await placeOrder(port, { customerId: "c4", items: [{ sku: "SKU-014", quantity: 2 }] })).order;
    await settled(id);
    await gql(port, CANCEL_ORDER, { id });
    const history = await waitFor(async () => {
      const { orderHistory } = await gqlOk(port, ORDER_HISTORY, { orderId: id });
      return orderHistory.length === 3 ? orderHistory : null;
    });
    expect(history.map((e) => e.__typename)).toEqual(["OrderCreated", "OrderConfirmed", "OrderCancelled"]);
    expect(history.every((e) => e.orderId === id)).toBe(true);
    const stock = await waitFor(async () => {
      const { inventoryHistory } = await gqlOk(
        port,
        `{ inventoryHistory(sku: "SKU-014") { __typename ... on StockReserved { orderId } ... on StockReleased { orderId items { sku quantity } } } }`,
      );
      return inventoryHistory.length === 2 ? inventoryHistory : null;
    });
    expect(stock).toEqual([
      { __typename: "StockReserved", orderId: id },
      { __typename: "StockReleased", orderId: id, items: [{ sku: "SKU-014", quantity: 2 }] },
    ]);
  });
});

describe("live views of the saga", () => {
  it("orderUpdated shows PENDING then CONFIRMED; inventoryEvents shows the reservation; orderEvents the lifecycle", async () => {
    const client = wsClient(port);
    try {
      const stock = collect(
        client,
        typed<{
          inventoryEvents: {
            __typename: string;
            skus: string[];
            traceId: string | null;
            orderId?: string;
            items?: OrderLine[];
          };
        }>(
          `subscription { inventoryEvents(sku: "SKU-016") { __typename skus traceId ... on StockReserved { orderId items { sku quantity } } } }`,
        ),
      );
      const lifecycle = collect(client, ORDER_EVENTS, { customerId: "live-saga" });
      const level = collect(
        client,
        typed<{ stockLevel: { sku: string; available: number } }>(
          `subscription { stockLevel(sku: "SKU-016") { sku available } }`,
        ),
      );
      const [current] = await level.until(1); // current value first
      const available = dataOf(current!).stockLevel.available;
      await delay(100);
      const { id } = (await placeOrder(port, { customerId: "live-saga", items: [{ sku: "SKU-016", quantity: 5 }] }))
        .order;
      const updates = collect(
        client,
        typed<{ orderUpdated: { id: string; status: OrderStatus } }, { id: string }>(
          `subscription($id: ID!) { orderUpdated(id: $id) { id status } }`,
        ),
        { id },
      );
      await waitFor(() => updates.values().some((u) => u.orderUpdated.status === "CONFIRMED"), {
        what: "CONFIRMED update",
      });
      const statuses = updates.values().map((u) => u.orderUpdated.status);
      expect(statuses.at(-1)).toBe("CONFIRMED");
      expect(statuses.filter((s, i) => s !== statuses[i - 1])).toEqual(
        statuses[0] === "PENDING" ? ["PENDING", "CONFIRMED"] : ["CONFIRMED"],
      );

      const [reserved] = await stock.until(1);
      expect(dataOf(reserved!).inventoryEvents).toMatchObject({
        __typename: "StockReserved",
        orderId: id,
        skus: ["SKU-016"],
        items: [{ sku: "SKU-016", quantity: 5 }],
      });
      await lifecycle.until(2);
      expect(lifecycle.values().map((e) => e.orderEvents.__typename)).toEqual(["OrderCreated", "OrderConfirmed"]);
      await level.until(2);
      expect(level.values().at(-1)?.stockLevel).toEqual({ sku: "SKU-016", available: available - 5 });
      for (const s of [stock, lifecycle, level, updates]) s.dispose();
    } finally {
      await client.dispose();
    }
  });
});
