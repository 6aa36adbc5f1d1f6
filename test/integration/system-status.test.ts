/**
 * systemStatus (the dashboard's system panel): admins only; outbox, consumer groups, dead letters
 * and event rates that count every event once. Also: /dashboard is served in production (no dev
 * tokens there), bundled from src/dashboard with no external reference.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { gql, gqlOk, typed } from "../support/graphql-clients.ts";
import { placeOrder } from "../support/documents.ts";
import { bearer, customerToken } from "../support/auth.ts";
import { waitFor } from "../support/wait.ts";

const STATUS = typed<{ systemStatus: Status }>(`{ systemStatus {
  outboxBacklog outboxOldestAgeSeconds
  consumerGroups { group stream lag pending }
  deadLetters { stream count }
  eventRate(minutes: 5) { at seconds orders inventory }
} }`);

interface Status {
  outboxBacklog: number | null;
  outboxOldestAgeSeconds: number | null;
  consumerGroups: { group: string; stream: string; lag: number | null; pending: number }[];
  deadLetters: { stream: string; count: number }[];
  eventRate: { at: string; seconds: number; orders: number; inventory: number }[];
}

let env: TestEnv;
let port: number;

beforeAll(async () => {
  env = await createTestEnv("system-status");
  port = (await env.start(["api", "relay", "inventory", "orders"])).port!;
});

const events = (s: Status, stream: "orders" | "inventory") =>
  Math.round(s.eventRate.reduce((n, p) => n + p[stream] * p.seconds, 0));

describe("systemStatus", () => {
  it("reports outbox, consumer groups, dead letters and event rates, each event counted once", async () => {
    // One order before anyone looks (the backfill from entry ids), one after (the live samples).
    const place = async () => {
      const { id } = (await placeOrder(port, { customerId: "c1", items: [{ sku: "SKU-001", quantity: 1 }] })).order;
      await waitFor(async () => (await env.db.prisma.order.findUnique({ where: { id } }))?.status === "CONFIRMED", {
        what: "the saga",
      });
    };
    const published = (orders: number, inventory: number) =>
      waitFor(
        async () =>
          (await env.redis.xlen(`${env.config.STREAM_PREFIX}:orders`)) === orders &&
          (await env.redis.xlen(`${env.config.STREAM_PREFIX}:inventory`)) === inventory,
        { what: "the relay" },
      );
    await place();
    await published(2, 1);
    const first = await gqlOk(port, STATUS);
    expect(events(first.systemStatus, "orders")).toBe(2); // OrderCreated, OrderConfirmed
    expect(events(first.systemStatus, "inventory")).toBe(1); // StockReserved
    await place();

    const s = await waitFor(
      async () => {
        const r = (await gqlOk(port, STATUS)).systemStatus;
        const settled = events(r, "orders") >= 4 && r.consumerGroups.every((g) => g.pending === 0 && g.lag === 0);
        return settled ? r : null;
      },
      { timeoutMs: 10_000, what: "the second order's events in the rate and the groups caught up" },
    );
    expect(events(s, "orders")).toBe(4);
    expect(events(s, "inventory")).toBe(2);
    expect(s.outboxBacklog).toBe(0);
    expect(s.outboxOldestAgeSeconds).toBe(0);
    expect(s.consumerGroups.map((g) => `${g.group} ${g.stream}`).sort()).toEqual([
      "inventory orders",
      "orders inventory",
    ]);
    expect(s.deadLetters).toEqual([
      { stream: "ORDERS", count: 0 },
      { stream: "INVENTORY", count: 0 },
    ]);
    // Points are in time order and within the window asked for.
    const times = s.eventRate.map((p) => Date.parse(p.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(Date.now() - times[0]!).toBeLessThanOrEqual(5 * 60_000 + 2_000);
  });

  it("counts dead letters per stream", async () => {
    await env.redis.xadd(
      `${env.config.STREAM_PREFIX}:orders`,
      "*",
      "type",
      "OrderTeleported",
      "agg",
      "x",
      "keys",
      "",
      "env",
      "{}",
    );
    await waitFor(async () => (await gqlOk(port, STATUS)).systemStatus.deadLetters[0]?.count === 1, {
      what: "the dead letter",
    });
  });

  it("is for admins only", async () => {
    const asCustomer = await gql(port, STATUS, undefined, bearer(await customerToken("c1")));
    expect(asCustomer.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const anonymous = await gql(port, STATUS, undefined, { authorization: "" });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("/dashboard", () => {
  it("is served in production too: local assets only, no dev tokens", async () => {
    const prod = (await env.start(["api"], { NODE_ENV: "production", GRAPHIQL: "false" })).port!;
    const page = await fetch(`http://127.0.0.1:${prod}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('data-dev-tokens="false"');
    expect(html).not.toMatch(/\b(?:src|href)=["']?(?:https?:)?\/\//);
    const js = await fetch(`http://127.0.0.1:${prod}/dashboard/app.js`);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`http://127.0.0.1:${prod}/dashboard/dev-token?as=admin`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${prod}/dashboard/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${prod}/dashboard`, { method: "POST", body: "x" })).status).toBe(405);
  });
});
