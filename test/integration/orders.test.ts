import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { codeOf, dataOf, firstError, gql, gqlOk, typed, type DataOf } from "../support/graphql-clients.ts";
import { ORDER, ORDERS, PRODUCTS, placeOrder, type OrderInput, type OrderStatus } from "../support/documents.ts";
import { createOrder } from "../../src/modules/orders/create-order.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";

/** CREATE_ORDER with the lines: these tests check what was priced. */
const CREATE = typed<
  {
    createOrder: {
      traceId: string;
      order: {
        id: string;
        customerId: string;
        status: OrderStatus;
        totalCents: number;
        currency: string;
        items: { sku: string; quantity: number; unitPriceCents: number }[];
      };
    };
  },
  { input: OrderInput }
>(`mutation Create($input: CreateOrderInput!) {
  createOrder(input: $input) { traceId order { id customerId status totalCents currency items { sku quantity unitPriceCents } } }
}`);

let env: TestEnv;
let port: number;

const counts = async () => {
  const [orders, items, outbox] = await Promise.all([
    env.db.prisma.order.count(),
    env.db.prisma.orderItem.count(),
    env.db.prisma.outboxEvent.count(),
  ]);
  return { orders, items, outbox };
};

beforeAll(async () => {
  env = await createTestEnv("orders");
  port = (await env.start(["api"])).port!; // no relay: outbox rows stay where the test can see them
});

describe("createOrder", () => {
  it("prices lines from the catalog and writes order, items and one outbox row together", async () => {
    const before = await counts();
    const { createOrder } = await gqlOk(port, CREATE, {
      input: {
        customerId: "c1",
        items: [
          { sku: "SKU-001", quantity: 2 },
          { sku: "SKU-004", quantity: 1 },
        ],
      },
    });
    const order = createOrder.order;
    expect(order).toMatchObject({ customerId: "c1", status: "PENDING", totalCents: 2 * 2490 + 1290, currency: "EUR" });
    expect(order.items).toEqual([
      { sku: "SKU-001", quantity: 2, unitPriceCents: 2490 },
      { sku: "SKU-004", quantity: 1, unitPriceCents: 1290 },
    ]);
    expect(await counts()).toEqual({ orders: before.orders + 1, items: before.items + 2, outbox: before.outbox + 1 });
    const row = await env.db.prisma.outboxEvent.findFirstOrThrow({ where: { aggregateId: order.id } });
    expect(row).toMatchObject({ eventType: "OrderCreated", stream: "orders", aggregateType: "Order" });
    expect((row.envelope as { traceparent: string }).traceparent).toContain(createOrder.traceId);
  });

  it("answers with the row it wrote: the same order a read returns", async () => {
    const FIELDS =
      "id customerId status totalCents currency rejectReason cancelReason createdAt updatedAt items { sku quantity unitPriceCents }";
    const written = (
      await gqlOk(port, `mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { ${FIELDS} } } }`, {
        input: { customerId: "c1", items: [{ sku: "SKU-006", quantity: 3 }] },
      })
    ).createOrder.order;
    const read = await gqlOk(port, `query($id: ID!) { order(id: $id) { ${FIELDS} } }`, { id: written.id });
    expect(written).toEqual(read.order);
    expect(new Date(written.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("prices with the catalog's current price after it changed (a cached price is checked, never trusted)", async () => {
    const place = async () =>
      (
        await gqlOk(port, CREATE, {
          input: {
            customerId: "c1",
            items: [
              { sku: "SKU-019", quantity: 2 },
              { sku: "SKU-020", quantity: 1 },
            ],
          },
        })
      ).createOrder.order;
    const price = async (sku: string) => (await env.db.prisma.product.findUniqueOrThrow({ where: { sku } })).priceCents;
    const [p19, p20] = [await price("SKU-019"), await price("SKU-020")];
    const first = await place(); // now both prices are cached in the api
    expect(first.totalCents).toBe(2 * p19 + p20);
    await env.db.pool.query(`UPDATE products SET price_cents = price_cents + 100 WHERE sku = 'SKU-019'`);
    try {
      const second = await place();
      expect(second.items).toEqual([
        { sku: "SKU-019", quantity: 2, unitPriceCents: p19 + 100 },
        { sku: "SKU-020", quantity: 1, unitPriceCents: p20 },
      ]);
      expect(second.totalCents).toBe(2 * (p19 + 100) + p20);
      const event = await env.db.prisma.outboxEvent.findFirstOrThrow({ where: { aggregateId: second.id } });
      expect((event.envelope as { payload: { totalCents: number } }).payload.totalCents).toBe(second.totalCents);
    } finally {
      await env.db.pool.query(`UPDATE products SET price_cents = price_cents - 100 WHERE sku = 'SKU-019'`);
    }
  });

  it("accepts a sku added to the catalog after an order for it was refused as unknown", async () => {
    const place = () => gql(port, CREATE, { input: { customerId: "c1", items: [{ sku: "SKU-LATE", quantity: 1 }] } });
    expect(firstError(await place()).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items[0].sku" });
    await env.db.prisma.product.create({
      data: { sku: "SKU-LATE", name: "late arrival", priceCents: 777, currency: "EUR" },
    });
    expect(dataOf(await place()).createOrder.order).toMatchObject({
      totalCents: 777,
      items: [{ sku: "SKU-LATE", quantity: 1, unitPriceCents: 777 }],
    });
  });

  it("continues the caller's W3C trace and echoes it in the response header", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await gql(
      port,
      CREATE,
      { input: { customerId: "c2", items: [{ sku: "SKU-002", quantity: 1 }] } },
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    expect(dataOf(res).createOrder.traceId).toBe(traceId);
    expect(res.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  const bad: [string, unknown, string, string][] = [
    ["no lines", { customerId: "c1", items: [] }, "BAD_USER_INPUT", "input.items"],
    [
      "an unknown sku",
      {
        customerId: "c1",
        items: [
          { sku: "SKU-001", quantity: 1 },
          { sku: "NOPE", quantity: 1 },
        ],
      },
      "BAD_USER_INPUT",
      "input.items[1].sku",
    ],
    [
      "quantity 0",
      { customerId: "c1", items: [{ sku: "SKU-001", quantity: 0 }] },
      "BAD_USER_INPUT",
      "input.items[0].quantity",
    ],
    [
      "a negative quantity",
      { customerId: "c1", items: [{ sku: "SKU-001", quantity: -3 }] },
      "BAD_USER_INPUT",
      "input.items[0].quantity",
    ],
    [
      "an absurd quantity",
      { customerId: "c1", items: [{ sku: "SKU-001", quantity: 1_000_000 }] },
      "BAD_USER_INPUT",
      "input.items[0].quantity",
    ],
    [
      "duplicate skus",
      {
        customerId: "c1",
        items: [
          { sku: "SKU-001", quantity: 1 },
          { sku: "SKU-001", quantity: 2 },
        ],
      },
      "BAD_USER_INPUT",
      "input.items[1].sku",
    ],
    [
      "an empty customer id",
      { customerId: "  ", items: [{ sku: "SKU-001", quantity: 1 }] },
      "BAD_USER_INPUT",
      "input.customerId",
    ],
    [
      "a malformed customer id",
      { customerId: "c1; DROP TABLE orders", items: [{ sku: "SKU-001", quantity: 1 }] },
      "BAD_USER_INPUT",
      "input.customerId",
    ],
    [
      "a huge customer id",
      { customerId: "c".repeat(500), items: [{ sku: "SKU-001", quantity: 1 }] },
      "BAD_USER_INPUT",
      "input.customerId",
    ],
    [
      "too many lines",
      { customerId: "c1", items: Array.from({ length: 51 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 })) },
      "BAD_USER_INPUT",
      "input.items",
    ],
  ];

  it.each(bad)(
    "rejects %s with a typed error naming the field, and writes nothing",
    async (_what, input, code, field) => {
      const before = await counts();
      const res = await gql(port, CREATE, { input: input as OrderInput }); // deliberately invalid
      expect(res.data ?? null).toBeNull();
      expect(res.errors).toHaveLength(1);
      expect(firstError(res).extensions).toMatchObject({ code, field });
      expect(firstError(res).message).toContain(field);
      expect(await counts()).toEqual(before);
    },
  );

  it.each([
    ["a quantity beyond 32 bits", { customerId: "c1", items: [{ sku: "SKU-001", quantity: 2 ** 40 }] }],
    ["a string quantity", { customerId: "c1", items: [{ sku: "SKU-001", quantity: "two" }] }],
    ["a missing sku", { customerId: "c1", items: [{ quantity: 1 }] }],
    ["a null item list", { customerId: "c1", items: null }],
  ])("rejects %s at the GraphQL layer and writes nothing", async (_what, input) => {
    const before = await counts();
    const res = await gql(port, CREATE, { input: input as OrderInput }); // deliberately invalid
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.[0]?.message).toMatch(/Variable "\$input"/);
    expect(await counts()).toEqual(before);
  });

  it("rolls back the order when a later write in the transaction fails", async () => {
    // A real failure after the order insert: the outbox refuses inserts (in this file's own database).
    await env.db.pool.query(
      `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$`,
    );
    await env.db.pool.query(
      `CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse()`,
    );
    try {
      const before = await counts();
      await expect(
        createOrder(
          env.db.prisma,
          { customerId: "c9", items: [{ sku: "SKU-003", quantity: 1 }] },
          { trace: continueTrace() },
        ),
      ).rejects.toThrow(/outbox unavailable/);
      const res = await gql(port, CREATE, { input: { customerId: "c9", items: [{ sku: "SKU-003", quantity: 1 }] } });
      expect(codeOf(res)).toBe("INTERNAL_SERVER_ERROR");
      expect(firstError(res).message).not.toContain("outbox unavailable"); // masked for clients
      expect(await counts()).toEqual(before);
    } finally {
      await env.db.pool.query(`DROP TRIGGER refuse_outbox ON outbox; DROP FUNCTION refuse()`);
    }
  });
});

describe("queries", () => {
  it("lists products with available stock", async () => {
    const { products } = await gqlOk(port, PRODUCTS);
    expect(products.filter((p) => /^SKU-\d+$/.test(p.sku))).toHaveLength(20); // the seeded catalog (a test above adds SKU-LATE)
    expect(products[0]).toEqual({
      sku: "SKU-001",
      name: "Espresso beans 1 kg",
      priceCents: 2490,
      currency: "EUR",
      available: 120,
    });
  });

  it("reads one order, and null for an unknown id", async () => {
    const { id } = (await placeOrder(port, { customerId: "c3", items: [{ sku: "SKU-005", quantity: 1 }] })).order;
    const found = await gqlOk(
      port,
      `query($id: ID!) { order(id: $id) { id customerId status items { sku product { name } } } }`,
      { id },
    );
    expect(found.order).toEqual({
      id,
      customerId: "c3",
      status: "PENDING",
      items: [{ sku: "SKU-005", product: { name: "Travel tumbler" } }],
    });
    const missing = await gqlOk(port, ORDER, { id: "01a21254-e1f1-7133-a952-4507e303b4d9" });
    expect(missing.order).toBeNull();
    const malformed = await gql(port, ORDER, { id: "nope" });
    expect(firstError(malformed).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "id" });
  });

  it("pages through orders newest first, filtered by status", async () => {
    for (let i = 0; i < 5; i++)
      await placeOrder(port, { customerId: "pager", items: [{ sku: "SKU-006", quantity: 1 }] });
    const total = await env.db.prisma.order.count();
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const { orders }: DataOf<typeof ORDERS> = await gqlOk(port, ORDERS, { first: 3, after, status: "PENDING" });
      seen.push(...orders.edges.map((e) => e.node.id));
      after = orders.pageInfo.hasNextPage ? orders.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toHaveLength(total);
    expect([...seen].sort().reverse()).toEqual(seen);
    const none = await gqlOk(port, ORDERS, { first: 5, status: "CONFIRMED" });
    expect(none.orders.edges).toEqual([]);
  });

  it("serves health and readiness", async () => {
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
  });
});
