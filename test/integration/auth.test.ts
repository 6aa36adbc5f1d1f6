import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { createServer } from "node:http";
import { createVerifier } from "../../src/platform/auth/tokens.ts";
import { IDEMPOTENCY_KEYS, RowPurger } from "../../src/platform/retention/row-purger.ts";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { codeOf, collect, dataOf, firstError, gql, gqlOk, sse, wsClient } from "../support/graphql-clients.ts";
import {
  CANCEL_ORDER,
  CREATE_ORDER,
  DEAD_LETTERS,
  DISCARD_DEAD_LETTER,
  ORDER,
  ORDER_EVENTS,
  ORDER_HISTORY,
  ORDERS,
  RESTOCK,
  placeOrder,
} from "../support/documents.ts";
import { ADMIN_TOKEN, TEST_AUTH, bearer, customerToken, tokenFor } from "../support/auth.ts";
import { waitFor } from "../support/wait.ts";

const ITEMS = [{ sku: "SKU-003", quantity: 1 }];

let env: TestEnv;
let port: number;
let alice: string; // customer token for "alice"
let bobOrderId: string;

const orderCount = async () => (await env.db.pool.query<{ n: string }>("SELECT count(*) AS n FROM orders")).rows[0]!.n;

beforeAll(async () => {
  env = await createTestEnv("auth");
  port = (await env.start(["api", "relay"])).port!;
  alice = await customerToken("alice");
  bobOrderId = (await placeOrder(port, { customerId: "bob", items: ITEMS })).order.id;
});

describe("tokens", () => {
  it("verifies tokens against a JWKS endpoint (ES256), refusing HS256 and unknown keys there", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const server = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
      const verify = createVerifier({ jwksUrl: url, issuer: "idp", audience: "gw", clockToleranceS: 0 });
      const sign = (key: CryptoKey | Uint8Array, alg: string, kid = "k1") =>
        new SignJWT({ roles: ["customer"] })
          .setProtectedHeader({ alg, kid })
          .setSubject("c9")
          .setIssuer("idp")
          .setAudience("gw")
          .setExpirationTime("5m")
          .sign(key);
      expect(await verify(await sign(privateKey, "ES256"))).toMatchObject({ customerId: "c9" });
      await expect(verify(await sign(new TextEncoder().encode("x".repeat(40)), "HS256"))).rejects.toThrow(/algorithm/);
      const other = await generateKeyPair("ES256");
      await expect(verify(await sign(other.privateKey, "ES256"))).rejects.toThrow(/bad signature/);
      await expect(verify(await sign(other.privateKey, "ES256", "k2"))).rejects.toThrow(/no matching signing key/);
    } finally {
      server.close();
    }
  });

  const forged = async (): Promise<[string, string, RegExp][]> => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (secret: string, claims: Record<string, unknown>, edit?: (j: SignJWT) => SignJWT) => {
      let jwt = new SignJWT({ roles: ["admin"], ...claims })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("mallory")
        .setIssuer(TEST_AUTH.issuer)
        .setAudience(TEST_AUTH.audience);
      jwt = edit ? edit(jwt) : jwt.setExpirationTime(now + 600);
      return jwt.sign(new TextEncoder().encode(secret));
    };
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const valid = await tokenFor("mallory", ["admin"]);
    const [h, p] = valid.split(".");
    return [
      ["expired", await tokenFor("alice", ["customer"], -120), /token expired/],
      ["wrong secret", await sign("another-secret-that-is-long-enough-0123456789", {}), /bad signature/],
      ["alg none", `${b64({ alg: "none", typ: "JWT" })}.${p}.`, /algorithm|malformed/],
      [
        "tampered payload",
        `${h}.${b64({ sub: "mallory", roles: ["admin"], exp: now + 9999, iss: TEST_AUTH.issuer, aud: TEST_AUTH.audience })}.${valid.split(".")[2]}`,
        /bad signature/,
      ],
      [
        "wrong issuer",
        await sign(TEST_AUTH.secret, { iss: "evil" }, (j) => j.setIssuer("evil").setExpirationTime(now + 600)),
        /claim iss/,
      ],
      [
        "wrong audience",
        await sign(TEST_AUTH.secret, {}, (j) => j.setAudience("someone-else").setExpirationTime(now + 600)),
        /claim aud/,
      ],
      ["no expiry", await sign(TEST_AUTH.secret, {}, (j) => j), /claim exp missing/],
      ["garbage", "not-a-jwt", /malformed/],
    ];
  };

  it("answers forged, expired and malformed tokens with UNAUTHENTICATED (401) and writes nothing", async () => {
    const before = await orderCount();
    for (const [what, token, message] of await forged()) {
      const res = await gql(port, CREATE_ORDER, { input: { customerId: "mallory", items: ITEMS } }, bearer(token));
      expect(res.status, what).toBe(401);
      expect(codeOf(res), what).toBe("UNAUTHENTICATED");
      expect(firstError(res).message, what).toMatch(message);
      expect(res.data ?? null, what).toBeNull();
    }
    const basic = await gql(port, `{ products { sku } }`, undefined, { authorization: "Basic YWxhZGRpbjpvcGVu" });
    expect(codeOf(basic)).toBe("UNAUTHENTICATED");
    expect(await orderCount()).toBe(before);
  });

  it("lets anonymous callers read the catalog and nothing else", async () => {
    const anon = { authorization: "" };
    expect((await gqlOk(port, `{ products { sku available } }`, undefined, anon)).products.length).toBeGreaterThan(0);
    const create = await gql(port, CREATE_ORDER, { input: { customerId: "x", items: ITEMS } }, anon);
    expect(codeOf(create)).toBe("UNAUTHENTICATED");
    expect(create.status).toBe(401);
    expect(codeOf(await gql(port, ORDER, { id: bobOrderId }, anon))).toBe("UNAUTHENTICATED");
  });
});

describe("authorization", () => {
  it("makes a customer's orders its own, whatever the input says", async () => {
    const own = await placeOrder(port, { items: ITEMS }, { headers: bearer(alice) });
    expect(own.order.customerId).toBe("alice");
    const before = await orderCount();
    const other = await gql(port, CREATE_ORDER, { input: { customerId: "bob", items: ITEMS } }, bearer(alice));
    expect(codeOf(other)).toBe("FORBIDDEN");
    expect(await orderCount()).toEqual(before); // the outbox row would have come with an order
    // Admins must say whom the order is for.
    expect(codeOf(await gql(port, CREATE_ORDER, { input: { items: ITEMS } }))).toBe("BAD_USER_INPUT");
  });

  it("denies every read of another customer's orders", async () => {
    expect(codeOf(await gql(port, ORDER, { id: bobOrderId }, bearer(alice)))).toBe("FORBIDDEN");
    expect(codeOf(await gql(port, ORDER_HISTORY, { orderId: bobOrderId }, bearer(alice)))).toBe("FORBIDDEN");
    expect(codeOf(await gql(port, ORDERS, { customerId: "bob" }, bearer(alice)))).toBe("FORBIDDEN");
    const mine = await gqlOk(port, ORDERS, { first: 100 }, bearer(alice));
    const owners = new Set(mine.orders.edges.map((e) => e.node.customerId));
    expect([...owners]).toEqual(["alice"]);
    const all = await gqlOk(port, ORDERS, { first: 100 });
    expect(new Set(all.orders.edges.map((e) => e.node.customerId))).toEqual(new Set(["alice", "bob"]));
  });

  it("lets a customer cancel only its own orders", async () => {
    const res = await gql(port, CANCEL_ORDER, { id: bobOrderId }, bearer(alice));
    expect(codeOf(res)).toBe("FORBIDDEN");
    const { order } = await gqlOk(port, ORDER, { id: bobOrderId });
    expect(order).not.toBeNull();
    expect(order?.status).not.toBe("CANCELLED");
  });

  it("keeps restock, dead letters and the inventory firehose for admins", async () => {
    const asAlice = bearer(alice);
    expect(codeOf(await gql(port, RESTOCK, { sku: "SKU-001", quantity: 5 }, asAlice))).toBe("FORBIDDEN");
    expect(codeOf(await gql(port, DEAD_LETTERS, { stream: "ORDERS" }, asAlice))).toBe("FORBIDDEN");
    expect(codeOf(await gql(port, DISCARD_DEAD_LETTER, { id: "orders:1-0" }, asAlice))).toBe("FORBIDDEN");
    expect(codeOf(await gql(port, `{ inventoryHistory(sku: "SKU-001") { eventType } }`, undefined, asAlice))).toBe(
      "FORBIDDEN",
    );
    const firehose = await sse(port, `subscription { inventoryEvents { eventType } }`, undefined, asAlice);
    expect(codeOf(await firehose.next())).toBe("FORBIDDEN");
    firehose.close();
    expect((await gql(port, RESTOCK, { sku: "SKU-001", quantity: 5 })).errors).toBeUndefined();
  });

  it("delivers a customer only its own events, and refuses other customers' filters", async () => {
    const client = wsClient(port, bearer(alice));
    const mine = collect(client, ORDER_EVENTS, {});
    const denied = collect(client, ORDER_EVENTS, { customerId: "bob" });
    const deniedOrder = collect(client, ORDER_EVENTS, { orderId: bobOrderId });
    await waitFor(() => denied.error || denied.received.length);
    expect(codeOf(denied.received[0])).toBe("FORBIDDEN");
    await waitFor(() => deniedOrder.received.length);
    expect(codeOf(deniedOrder.received[0])).toBe("FORBIDDEN");
    await new Promise((r) => setTimeout(r, 200));
    for (const customerId of ["bob", "alice", "bob", "carol", "alice"])
      await placeOrder(port, { customerId, items: ITEMS });
    const events = await mine.until(2);
    await new Promise((r) => setTimeout(r, 500)); // room for a wrongly delivered event to show up
    expect(mine.received.every((e) => e.data?.orderEvents.customerId === "alice")).toBe(true);
    expect(events.length).toBe(2);
    await client.dispose();
  });
});

describe("WebSocket and SSE authentication", () => {
  const connect = (payload?: unknown) =>
    new Promise<{ code: number; reason: string }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
      ws.once("open", () =>
        ws.send(JSON.stringify({ type: "connection_init", ...(payload === undefined ? {} : { payload }) })),
      );
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
      ws.once("error", reject);
      ws.on("message", (m) => {
        if (JSON.parse(m.toString()).type === "connection_ack") {
          resolve({ code: 0, reason: "ack" });
          ws.close();
        }
      });
    });

  it("closes sockets without a token with 4401 and with a bad one with 4403", async () => {
    expect((await connect()).code).toBe(4401);
    expect((await connect({ authorization: "Bearer nope" })).code).toBe(4403);
    expect((await connect({ authorization: `Bearer ${await customerToken("alice", -60)}` })).reason).toMatch(/expired/);
    expect((await connect({ authorization: `Bearer ${ADMIN_TOKEN}` })).reason).toBe("ack");
    expect((await connect({ token: ADMIN_TOKEN })).reason).toBe("ack");
  });

  it("closes a socket when its token expires (4403), ending its subscriptions", async () => {
    const shortLived = await customerToken("alice", 2);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "connection_init", payload: bearer(shortLived) }));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    expect(closed).toEqual({ code: 4403, reason: "Forbidden: token expired" });
  });

  it("ends an SSE subscription with UNAUTHENTICATED once its token has expired", async () => {
    const stream = await sse(port, ORDER_EVENTS, {}, bearer(await customerToken("dave", 2)));
    await new Promise((r) => setTimeout(r, 200));
    await placeOrder(port, { customerId: "dave", items: ITEMS });
    expect(dataOf(await stream.next()).orderEvents.customerId).toBe("dave");
    await new Promise((r) => setTimeout(r, 2_500));
    await placeOrder(port, { customerId: "dave", items: ITEMS });
    const last = await stream.next();
    expect(codeOf(last)).toBe("UNAUTHENTICATED");
    expect(firstError(last).message).toMatch(/token expired; resubscribe/);
    stream.close();
  });
});

describe("idempotency keys", () => {
  it("turns 20 concurrent retries with one key into one order", async () => {
    const token = await customerToken("erin");
    const before = await orderCount();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        gql(port, CREATE_ORDER, { input: { items: ITEMS }, idempotencyKey: "checkout-42" }, bearer(token)),
      ),
    );
    const ids = new Set(results.map((r) => (expect(r.errors).toBeUndefined(), dataOf(r).createOrder.order.id)));
    expect(ids.size).toBe(1);
    expect(Number(await orderCount())).toBe(Number(before) + 1);
    const created = await waitFor(async () => {
      const entries = await env.redis.xrange(`${env.config.STREAM_PREFIX}:orders`, "-", "+");
      return entries.filter(([, f]) => f.includes([...ids][0]!)).length || null;
    });
    expect(created).toBe(1); // one OrderCreated on the stream
  });

  it("answers the same key with other input with CONFLICT, and keeps keys per caller", async () => {
    const token = await customerToken("frank");
    const first = await placeOrder(port, { items: ITEMS }, { idempotencyKey: "k-1", headers: bearer(token) });
    const conflict = await gql(
      port,
      CREATE_ORDER,
      { input: { items: [{ sku: "SKU-001", quantity: 2 }] }, idempotencyKey: "k-1" },
      bearer(token),
    );
    expect(codeOf(conflict)).toBe("CONFLICT");
    const someoneElse = await placeOrder(
      port,
      { items: ITEMS },
      { idempotencyKey: "k-1", headers: bearer(await customerToken("grace")) },
    );
    expect(someoneElse.order.id).not.toBe(first.order.id);
    expect(
      codeOf(await gql(port, CREATE_ORDER, { input: { items: ITEMS }, idempotencyKey: "bad key!" }, bearer(token))),
    ).toBe("BAD_USER_INPUT");
  });

  it("replays a cancel with the same key instead of failing on the second try", async () => {
    const token = await customerToken("heidi");
    const { id } = (await placeOrder(port, { items: ITEMS }, { headers: bearer(token) })).order;
    const [a, b] = await Promise.all([
      gql(port, CANCEL_ORDER, { id, idempotencyKey: "c-1" }, bearer(token)),
      gql(port, CANCEL_ORDER, { id, idempotencyKey: "c-1" }, bearer(token)),
    ]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(dataOf(a).cancelOrder.order.status).toBe("CANCELLED");
    expect(codeOf(await gql(port, CANCEL_ORDER, { id }, bearer(token)))).toBe("CONFLICT"); // without a key: already cancelled
    const cancellations = async () =>
      (await env.redis.xrange(`${env.config.STREAM_PREFIX}:orders`, "-", "+")).filter(
        ([, f]) => f.includes(id) && f.includes("OrderCancelled"),
      ).length;
    await waitFor(cancellations);
    await new Promise((r) => setTimeout(r, 500)); // a second one would be relayed by now
    expect(await cancellations()).toBe(1);
  });

  it("files a key under one principal: a customer whose subject is an admin's cannot replay the admin's key", async () => {
    const admin = await tokenFor("boss", ["admin"]);
    const customer = await customerToken("boss");
    const input = { customerId: "boss", items: ITEMS };
    const byAdmin = await placeOrder(port, input, { idempotencyKey: "shared-1", headers: bearer(admin) });
    const byCustomer = await placeOrder(port, input, { idempotencyKey: "shared-1", headers: bearer(customer) });
    expect(byCustomer.order.id).not.toBe(byAdmin.order.id);
    const { rows } = await env.db.pool.query("SELECT scope FROM idempotency_keys WHERE key = 'shared-1'");
    expect(new Set(rows.map((r) => r.scope)).size).toBe(2);
  });

  it("forgets keys after their lifetime, so the same key places a new order then", async () => {
    const token = await customerToken("kate");
    const first = await placeOrder(port, { items: ITEMS }, { idempotencyKey: "old", headers: bearer(token) });
    await env.db.pool.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'");
    const purger = new RowPurger({
      ...IDEMPOTENCY_KEYS,
      pool: env.db.pool,
      log: env.log,
      ttlMs: 24 * 3_600_000,
      intervalMs: 60_000,
    });
    expect(await purger.purge()).toBe(1);
    const again = await placeOrder(port, { items: ITEMS }, { idempotencyKey: "old", headers: bearer(token) });
    expect(again.order.id).not.toBe(first.order.id);
    expect(await purger.purge()).toBe(0); // the new key is young
  });
});

describe("limits", () => {
  let limited: number;
  beforeAll(async () => {
    limited = (
      await env.start(["api"], {
        RATE_LIMIT_MUTATIONS: "3",
        RATE_LIMIT_WINDOW_MS: "60000",
        NODE_ENV: "production",
        GRAPHIQL: "false",
        GRAPHQL_MAX_DEPTH: "4",
      })
    ).port!;
  });

  it("rate-limits mutations per client with RATE_LIMITED, HTTP 429 and Retry-After", async () => {
    const token = await customerToken("ivan");
    const results = [];
    for (let i = 0; i < 5; i++)
      results.push(await gql(limited, CREATE_ORDER, { input: { items: ITEMS } }, bearer(token)));
    expect(results.slice(0, 3).every((r) => !r.errors)).toBe(true);
    const refused = results[3]!;
    expect(codeOf(refused)).toBe("RATE_LIMITED");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(firstError(refused).extensions?.retryAfterMs).toBeGreaterThan(0);
    // Queries are not limited, and other clients have their own budget.
    expect((await gql(limited, `{ products { sku } }`, undefined, bearer(token))).errors).toBeUndefined();
    expect(
      (await gql(limited, CREATE_ORDER, { input: { items: ITEMS } }, bearer(await customerToken("judy")))).errors,
    ).toBeUndefined();
  });

  it("counts every mutation field, through named and inline fragments, before any runs", async () => {
    const token = await customerToken("mallory");
    const before = await orderCount();
    const create = (n: number) =>
      Array.from({ length: n }, (_, i) => `o${i}: createOrder(input: $input) { order { id } }`).join(" ");
    const named = `mutation($input: CreateOrderInput!) { ...F } fragment F on Mutation { ${create(4)} }`;
    const refused = await gql(limited, named, { input: { items: ITEMS } }, bearer(token));
    expect(codeOf(refused)).toBe("RATE_LIMITED");
    const inline = `mutation($input: CreateOrderInput!) { ... on Mutation { ${create(4)} } }`;
    const token2 = await customerToken("mallory2");
    expect(codeOf(await gql(limited, inline, { input: { items: ITEMS } }, bearer(token2)))).toBe("RATE_LIMITED");
    expect(await orderCount()).toBe(before);
  });

  it("gives a customer whose subject is an admin's its own budget: it cannot lock the admin out", async () => {
    const customer = await customerToken("chief");
    for (let i = 0; i < 4; i++) await gql(limited, CREATE_ORDER, { input: { items: ITEMS } }, bearer(customer));
    const admin = await tokenFor("chief", ["admin"]);
    const res = await gql(limited, CREATE_ORDER, { input: { customerId: "chief", items: ITEMS } }, bearer(admin));
    expect(res.errors).toBeUndefined();
  });

  it("turns off introspection in production", async () => {
    const res = await gql(limited, `{ __schema { types { name } } }`);
    expect(res.errors?.[0]?.message).toMatch(/introspection/i);
    expect(res.data ?? null).toBeNull();
  });

  it("refuses deep, aliased and directive-heavy queries before running them", async () => {
    const deep = `{ orders { edges { node { items { product { sku } } } } } }`; // depth 6
    expect((await gql(port, deep)).errors).toBeUndefined();
    const tooDeep = await gql(limited, deep); // GRAPHQL_MAX_DEPTH=4 there
    expect(codeOf(tooDeep)).toBe("BAD_USER_INPUT");
    expect(firstError(tooDeep).message).toMatch(/depth/i);
    const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `p${i}: products { sku }`).join(" ")} }`;
    expect(firstError(await gql(port, aliases)).message).toMatch(/aliases/i);
    const directives = `{ products ${"@include(if: true) ".repeat(20)} { sku } }`;
    expect(firstError(await gql(port, directives)).message).toMatch(/directives/i);
  });
});

afterAll(async () => {});
