/**
 * Security hardening, round 2 (issue 16): each test closes one hole a hostile tester found.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, gql, sse, wsClient } from "../support/graphql-clients.ts";
import { metric, parseMetrics } from "../support/metrics.ts";
import { waitFor } from "../support/wait.ts";
import { ADMIN_TOKEN, bearer, customerToken } from "../support/auth.ts";
import { StreamHub } from "../../src/platform/live/hub.ts";
import { subscribeSnapshots } from "../../src/platform/live/graphql-fields.ts";
import { createRedis } from "../../src/platform/infra/redis.ts";
import { eventRegistry } from "../../src/modules.ts";
import { networkInterfaces } from "node:os";
import { deadLetter } from "../../src/platform/consumers/dead-letters.ts";

let env: TestEnv;
let port: number;

beforeAll(async () => {
  env = await createTestEnv("security");
  port = (await env.start(["api"])).port!;
});

const liveSubscriptions = async (stream: string) => {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return metric(parseMetrics(await res.text()), "live_subscriptions", { stream });
};

describe("subscriptions whose setup fails", () => {
  const STOCK = `subscription($sku: String!) { stockLevel(sku: $sku) { sku } }`;

  it("leave the hub: live_subscriptions returns to where it was, over graphql-ws and SSE", async () => {
    expect(await liveSubscriptions("inventory")).toBe(0);
    const client = wsClient(port);
    try {
      for (let i = 0; i < 30; i++) {
        const sub = collect(client, STOCK, { sku: `NUL\u0000${i}` });
        await waitFor(() => sub.received.length > 0 || sub.error !== undefined || sub.completed, {
          what: "the subscription's answer",
        });
        expect(sub.received[0]?.errors?.length ?? (sub.error ? 1 : 0)).toBeGreaterThan(0);
      }
    } finally {
      client.dispose();
    }
    for (let i = 0; i < 5; i++) {
      const stream = await sse(port, STOCK, { sku: `NUL\u0000${i}` }, bearer(ADMIN_TOKEN));
      const first = await stream.next();
      expect(first.errors?.length ?? 0).toBeGreaterThan(0);
      stream.close();
    }
    // A healthy subscription still registers (the gauge is live), then leaves when closed.
    const healthy = wsClient(port);
    const sub = collect(healthy, STOCK, { sku: "SKU-001" });
    await sub.until(1);
    expect(await liveSubscriptions("inventory")).toBe(1);
    healthy.dispose();
    await waitFor(async () => (await liveSubscriptions("inventory")) === 0, { what: "every subscription to leave" });
  });

  it("release the hub subscriber when the first snapshot throws", async () => {
    const hub = new StreamHub({
      events: eventRegistry,
      redis: createRedis(env.config.REDIS_URL, "security:test"),
      commands: env.redis,
      key: `${env.config.STREAM_PREFIX}:security`,
      log: env.log,
      blockMs: 200,
      readCount: 10,
      bufferSize: 5,
    });
    await hub.start();
    try {
      const gen = await subscribeSnapshots(
        hub,
        { keys: ["sku:X"] },
        null,
        () => Promise.reject(new Error("load failed")),
        null,
      );
      expect(hub.subscriberCount).toBe(1);
      await expect(gen.next()).rejects.toThrow("load failed");
      expect(hub.subscriberCount).toBe(0);
    } finally {
      await hub.stop();
    }
  });
});

afterAll(async () => {
  void customerToken;
  void gql;
});

describe("bad input", () => {
  const codes = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
    (res.errors ?? []).map((e) => e.extensions?.code);

  it("answers malformed paging with BAD_USER_INPUT naming the argument", async () => {
    const token = await customerToken("pager");
    const first = await gql(port, `{ orders(first: 1) { edges { cursor } } }`, undefined, bearer(token));
    expect(first.errors).toBeUndefined();
    const cases: [string, string][] = [
      [`{ orders(after: "%%%") { edges { cursor } } }`, "after"],
      [`{ orders(before: "%%%") { edges { cursor } } }`, "before"],
      [`{ orders(after: "0192a1b2-0000-7000-8000-000000000000") { edges { cursor } } }`, "after"],
      [`{ orders(after: "R1BDOlM6bm90LWEtdXVpZA==") { edges { cursor } } }`, "after"], // GPC:S:not-a-uuid
      [`{ orders(first: -1) { edges { cursor } } }`, "first"],
      [`{ orders(last: -5) { edges { cursor } } }`, "last"],
      [`{ orders(after: "R1BDOlM6eA==", before: "R1BDOlM6eA==") { edges { cursor } } }`, "before"],
    ];
    for (const [query, argument] of cases) {
      const res = await gql(port, query, undefined, bearer(token));
      expect(codes(res), `${query}: ${JSON.stringify(res.errors)}`).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions?.field, query).toBe(argument);
    }
  });

  it("answers NUL bytes in any string argument with BAD_USER_INPUT naming the argument", async () => {
    const token = ADMIN_TOKEN;
    const cases: [string, Record<string, unknown> | undefined, string][] = [
      [`{ inventoryHistory(sku: "A\\u0000B") { eventId } }`, undefined, "sku"],
      [`query($sku: String!) { inventoryHistory(sku: $sku) { eventId } }`, { sku: "A\u0000B" }, "sku"],
      [`query($id: ID!) { order(id: $id) { id } }`, { id: "\u0000" }, "id"],
      [
        `mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } } }`,
        { input: { items: [{ sku: "SKU-001\u0000", quantity: 1 }] } },
        "input.items[0].sku",
      ],
      [`{ orders(customerId: "a\\u0000") { edges { cursor } } }`, undefined, "customerId"],
    ];
    for (const [query, variables, argument] of cases) {
      const res = await gql(port, query, variables, bearer(token));
      expect(codes(res), `${query}: ${JSON.stringify(res.errors)}`).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions?.field, query).toBe(argument);
    }
  });
});

describe("production", () => {
  let prod: number;
  let health: number;
  beforeAll(async () => {
    const app = await env.start(["api"], { NODE_ENV: "production", GRAPHIQL: "false" });
    prod = app.port!;
    health = app.healthPort!;
  });

  it("serves /metrics and /ready on the health port only, never on the public api port", async () => {
    expect((await fetch(`http://127.0.0.1:${prod}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${prod}/ready`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${prod}/health`)).status).toBe(200);
    expect(health).toBeGreaterThan(0);
    const metrics = await fetch(`http://127.0.0.1:${health}/metrics`);
    expect(metrics.status).toBe(200);
    // The GraphQL metrics are still recorded into the registry the health port serves.
    await gql(prod, `{ products { sku } }`);
    expect(await (await fetch(`http://127.0.0.1:${health}/metrics`)).text()).toMatch(
      /graphql_envelop_request_duration/,
    );
    expect((await fetch(`http://127.0.0.1:${health}/ready`)).status).toBe(200);
  });

  /** Every answer of one operation over HTTP, SSE and graphql-ws, as a customer. */
  async function everyTransport(query: string, variables?: Record<string, unknown>) {
    const token = await customerToken("probe");
    const http = await gql(prod, query, variables, bearer(token));
    const stream = await sse(prod, query, variables, bearer(token));
    const overSse = await stream.next().finally(() => stream.close());
    const client = wsClient(prod, { authorization: `Bearer ${token}` });
    try {
      const sub = collect(client, query, variables);
      await waitFor(() => sub.received.length > 0 || sub.error !== undefined, { what: "the ws answer" });
      const ws = sub.received[0] ?? { errors: sub.error as { message: string }[] };
      return { http, sse: overSse, ws } as Record<string, { data?: unknown; errors?: { message: string }[] }>;
    } finally {
      client.dispose();
    }
  }

  it("answers no introspection over HTTP, SSE or graphql-ws", async () => {
    for (const query of [`{ __schema { types { name } } }`, `{ __type(name: "Mutation") { fields { name } } }`]) {
      for (const [transport, res] of Object.entries(await everyTransport(query))) {
        expect(res.data ?? null, `${transport}: ${query}`).toBeNull();
        expect(res.errors?.[0]?.message, `${transport}: ${query}`).toMatch(/introspection/i);
      }
    }
  });

  it("gives no 'Did you mean' hint of any kind", async () => {
    const cases: [string, Record<string, unknown>?][] = [
      [`{ order(idd: "x") { id } }`],
      [`{ orders { edgez { cursor } } }`],
      [`{ orders(status: PENDIN) { edges { cursor } } }`],
      [`query($s: OrderStatus) { orders(status: $s) { edges { cursor } } }`, { s: "PENDIN" }],
      [`query($s: OrderStatu) { orders(status: $s) { edges { cursor } } }`, { s: "PENDING" }],
      [`mutation { createOrder(input: { item: [{ sku: "SKU-001", quantity: 1 }] }) { traceId } }`],
      [
        `mutation($input: CreateOrderInput!) { createOrder(input: $input) { traceId } }`,
        { input: { items: [{ skuu: "SKU-001", quantity: 1 }] } },
      ],
    ];
    for (const [query, variables] of cases) {
      for (const [transport, res] of Object.entries(await everyTransport(query, variables))) {
        const messages = (res.errors ?? []).map((e) => e.message).join(" | ");
        expect(messages.length, `${transport}: ${query}`).toBeGreaterThan(0);
        expect(messages, `${transport}: ${query}`).not.toMatch(/did you mean/i);
      }
    }
  });
});

describe("subscription caps", () => {
  const STOCK = `subscription { stockLevel(sku: "SKU-001") { sku } }`;
  let capped: number;
  beforeAll(async () => {
    capped = (await env.start(["api"], { SUBSCRIPTIONS_PER_CLIENT: "3", SUBSCRIPTIONS_MAX: "5" })).port!;
  });

  async function wsSub(token: string) {
    const client = wsClient(capped, { authorization: `Bearer ${token}` });
    const sub = collect(client, STOCK);
    await waitFor(() => sub.received.length > 0 || sub.error !== undefined, { what: "the ws answer" });
    return { first: sub.received[0]!, close: () => client.dispose() };
  }
  async function sseSub(token: string) {
    const stream = await sse(capped, STOCK, undefined, bearer(token));
    return { first: await stream.next(), close: () => stream.close() };
  }
  const refused = (r: { first: { errors?: { extensions?: Record<string, unknown> }[] } }) =>
    r.first.errors?.[0]?.extensions?.code === "LIMIT_EXCEEDED";

  it("caps one client across WebSocket and SSE, and the process across clients; closing frees a slot", async () => {
    const ann = await customerToken("cap-ann");
    const open = [await wsSub(ann), await wsSub(ann), await sseSub(ann)];
    expect(open.some(refused)).toBe(false);
    const overSse = await sseSub(ann);
    const overWs = await wsSub(ann);
    expect(refused(overSse) && refused(overWs)).toBe(true);
    overSse.close();
    overWs.close();

    const ben = await customerToken("cap-ben");
    open.push(await sseSub(ben), await wsSub(ben));
    expect(open.some(refused)).toBe(false);
    const cat = await customerToken("cap-cat");
    const full = await sseSub(cat);
    expect(refused(full)).toBe(true); // 5 held: the process is full
    full.close();

    open.shift()!.close();
    await waitFor(async () => !refused(await sseSub(cat).then((s) => (s.close(), s))), {
      what: "a closed subscription's slot to come back",
    });
    for (const s of open) s.close();
  });
});

describe("HTTP", () => {
  it("answers a body that is not JSON with 400, whatever the client accepts", async () => {
    for (const accept of ["application/json", "application/graphql-response+json", "*/*"]) {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept },
        body: `{"query": "{ __typename }"`,
      });
      const text = await res.text();
      expect(res.status, `${accept}: ${text}`).toBe(400);
      expect(JSON.parse(text).errors[0].extensions.code, accept).toBe("BAD_USER_INPUT");
    }
  });
});

describe("validation cost", () => {
  it("refuses a document repeating one field before validating it", async () => {
    const repeated = `{ ${Array.from({ length: 440 }, () => "products { sku }").join(" ")} }`;
    expect(repeated.length).toBeGreaterThan(7_000);
    for (const query of [repeated, `{ ${Array.from({ length: 301 }, (_, i) => `f${i}`).join(" ")} }`]) {
      const res = await gql(port, query);
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors?.[0]?.message).toMatch(/selected more than|fields; at most/);
    }
  });
});

describe("development", () => {
  it("serves dev tokens to loopback clients only, whatever address the api listens on", async () => {
    const app = await env.start(["api"], {
      NODE_ENV: "development",
      HOST: "0.0.0.0",
      AUTH_JWT_SECRET: undefined as unknown as string, // the public dev secret: dev tokens on
    });
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    expect(external, "this machine needs a non-loopback IPv4 address for this test").toBeDefined();
    const ask = (host: string) => fetch(`http://${host}:${app.port}/dashboard/dev-token?as=admin`);
    expect((await ask("127.0.0.1")).status).toBe(200);
    const refused = await ask(external!);
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toMatch(/token"/);
  });
});

describe("dead letters", () => {
  it("are listed with a size-capped preview of the envelope, and fetched whole one at a time", async () => {
    const big = JSON.stringify({ eventType: "Huge", padding: "x".repeat(200_000) });
    const source = `${env.config.STREAM_PREFIX}:orders`;
    await deadLetter(env.redis, source, { id: "1-0", type: "Huge", aggregateId: "a1", keys: [], json: big } as never, {
      group: "g",
      consumer: "c",
      deliveries: 1,
      reason: "invalid-payload",
      error: "too big",
    });
    const list = await gql(
      port,
      `{ deadLetters(stream: ORDERS, first: 10) { edges { node { id envelope envelopeTruncated envelopeLength } } } }`,
      undefined,
      bearer(ADMIN_TOKEN),
    );
    const text = JSON.stringify(list);
    expect(text.length).toBeLessThan(10_000);
    const node = (list.data as any).deadLetters.edges[0].node;
    expect(node).toMatchObject({ envelopeTruncated: true, envelopeLength: big.length });
    expect(node.envelope.length).toBe(2_048);
    const one = await gql(
      port,
      `query($id: ID!) { deadLetter(id: $id) { envelope envelopeTruncated } }`,
      { id: node.id },
      bearer(ADMIN_TOKEN),
    );
    expect((one.data as any).deadLetter).toEqual({ envelope: big, envelopeTruncated: false });
  });
});
