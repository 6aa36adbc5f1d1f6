import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "graphql-ws";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, firstError, gql, reconnectingWsClient, sse, typed, wsClient } from "../support/graphql-clients.ts";
import type { OrderEventType } from "../support/documents.ts";
import { delay, waitFor } from "../support/wait.ts";
import { publishOrders, steadyPublisher } from "../support/publisher.ts";
import { spawnRole } from "../support/processes.ts";
import { freePort } from "../support/private-redis.ts";
import { ADMIN_TOKEN, bearer } from "../support/auth.ts";
import { subscribeResuming, subscribeResumingSse } from "../../src/client/resuming-subscription.ts";
import { streamKey } from "../support/streams.ts";
import { previousId } from "../../src/platform/events/partitions.ts";

/** Lean on purpose (not ORDER_EVENTS): these tests move tens of thousands of events; the slow-subscriber test fattens it. */
type Data = { orderEvents: { cursor: string; orderId: string; totalCents: number } };
type Variables = { customerId?: string; after?: string; types?: OrderEventType[] };
const EVENTS = typed<Data, Variables>(`subscription($customerId: ID, $after: String, $types: [OrderEventType!]) {
  orderEvents(customerId: $customerId, after: $after, types: $types) { __typename cursor orderId ... on OrderCreated { totalCents } }
}`);

let env: TestEnv;
let key: string;

beforeAll(async () => {
  env = await createTestEnv("resume", { seed: false });
  key = streamKey(env.config.STREAM_PREFIX, "orders");
});

describe("resume with after: gap-free handover", () => {
  let port: number;
  beforeAll(async () => {
    port = (await env.start(["api"], { SUBSCRIBER_BUFFER: "5000" })).port!;
  });

  it("clients joining at various cursors while events keep coming each see every later event exactly once, in order", async () => {
    await publishOrders(env.redis, key, 300, "handover"); // history before anyone subscribes
    const publisher = steadyPublisher(env.redis, key, 1500, { batch: 7, everyMs: 3, customerId: "handover" });
    const client = wsClient(port);
    const subs: { after: string; sub: ReturnType<typeof collect<typeof EVENTS>> }[] = [];
    for (let i = 0; i < 12; i++) {
      await delay(40 + Math.random() * 60);
      const history = (await env.redis.xrange(key, "-", "+")) as [string, string[]][];
      const after = history[Math.floor(Math.random() * history.length)]![0];
      subs.push({ after, sub: collect(client, EVENTS, { customerId: "handover", after }) });
    }
    await publisher.done;
    const all = ((await env.redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id]) => id);
    for (const { after, sub } of subs) {
      const expected = all.filter(
        (id) =>
          BigInt(id.split("-")[0]!) > BigInt(after.split("-")[0]!) ||
          (id.split("-")[0] === after.split("-")[0] && BigInt(id.split("-")[1]!) > BigInt(after.split("-")[1]!)),
      );
      await sub.until(expected.length, 20_000);
      await delay(100);
      expect(sub.values().map((d) => d.orderEvents.cursor)).toEqual(expected);
      sub.dispose();
    }
    await client.dispose();
  });

  it("rejects a malformed cursor, and a trimmed one with the oldest cursor still available", async () => {
    const client = wsClient(port);
    const bad = collect(client, EVENTS, { after: "yesterday" });
    await waitFor(() => bad.received.length || bad.error);
    expect((bad.received[0]?.errors ?? (bad.error as any[]))[0]).toMatchObject({
      extensions: { code: "BAD_USER_INPUT", field: "after" },
    });

    // Two entries trimmed, resuming after the first: the second is lost to this cursor. (A cursor at the trim
    // point itself loses nothing and is accepted: cursor-rules.test.ts.)
    const [old] = await publishOrders(env.redis, key, 2, "trim");
    const kept = await publishOrders(env.redis, key, 3, "trim");
    await env.redis.call("XTRIM", key, "MINID", kept[0]!);
    const res = await gql(port, `{ __typename }`); // the server is fine
    expect(res.data).toBeTruthy();
    const trimmed = collect(client, EVENTS, { customerId: "trim", after: old });
    await waitFor(() => trimmed.received.length || trimmed.error);
    const error = (trimmed.received[0]?.errors ?? (trimmed.error as any[]))[0];
    // The position right before the first entry still held: resuming from it replays that entry.
    expect(error.extensions).toMatchObject({
      code: "CURSOR_TOO_OLD",
      field: "after",
      oldestCursor: previousId(kept[0]!),
    });
    expect(error.message).toContain(previousId(kept[0]!));
    await client.dispose();
  });

  it("filters by event type, in replay and live alike", async () => {
    const client = wsClient(port);
    const [start] = await publishOrders(env.redis, key, 1, "types");
    await publishOrders(env.redis, key, 5, "types");
    const onlyCancelled = collect(client, EVENTS, { customerId: "types", after: start, types: ["OrderCancelled"] });
    const onlyCreated = collect(client, EVENTS, { customerId: "types", after: start, types: ["OrderCreated"] });
    await onlyCreated.until(5);
    await publishOrders(env.redis, key, 2, "types");
    await onlyCreated.until(7);
    await delay(200);
    expect(onlyCancelled.received).toEqual([]);
    expect(onlyCreated.received).toHaveLength(7);
    await client.dispose();
  });
});

describe("slow subscribers", () => {
  it("a client that stops reading is cut off with its last cursor; the others are not delayed; it resumes with no gap", async () => {
    const { port } = await env.start(["api"], {
      SUBSCRIBER_BUFFER: "500",
      HUB_READ_COUNT: "100",
      WS_KEEPALIVE_MS: "0",
    });
    const fast = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: bearer(ADMIN_TOKEN),
    });
    let slowSocket: WebSocket | undefined;
    class PausableWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        // eslint-disable-next-line @typescript-eslint/no-this-alias -- the test pauses this very socket later
        slowSocket = this;
      }
    }
    const slow = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: PausableWebSocket,
      retryAttempts: 0,
      connectionParams: bearer(ADMIN_TOKEN),
    });
    // Fat messages, so the paused client's kernel buffers fill and the server side backs up.
    const FAT = typed<Data, Variables>(
      EVENTS.replace(
        "{ totalCents }",
        "{ totalCents currency items { sku quantity unitPriceCents } eventId occurredAt traceId customerId eventType }",
      ),
    );
    const fastSub = collect(fast, FAT, { customerId: "slow" });
    const slowSub = collect(slow, FAT, { customerId: "slow" });
    await delay(300);
    const first = await publishOrders(env.redis, key, 1, "slow");
    await slowSub.until(1);
    (slowSocket as unknown as { _socket: { pause(): void } })._socket.pause(); // stops reading from TCP

    const started = Date.now();
    const cursors = [...first];
    for (let i = 0; i < 60; i++) cursors.push(...(await publishOrders(env.redis, key, 500, "slow")));
    await fastSub.until(cursors.length, 45_000);
    const fastMs = Date.now() - started;
    expect(fastSub.values().map((d) => d.orderEvents.cursor)).toEqual(cursors); // nothing lost, in order

    (slowSocket as unknown as { _socket: { resume(): void } })._socket.resume();
    const cutOff = await waitFor(() => slowSub.received.find((r) => r.errors), {
      timeoutMs: 20_000,
      what: "the cut-off notice",
    });
    expect(firstError(cutOff)).toMatchObject({ extensions: { code: "SLOW_SUBSCRIBER" } });
    const lastCursor = firstError(cutOff).extensions?.lastCursor as string;
    const delivered = slowSub.received.flatMap((r) => (r.data ? [r.data.orderEvents.cursor] : []));
    expect(delivered.at(-1)).toBe(lastCursor);
    expect(delivered.length).toBeLessThan(cursors.length);
    await waitFor(() => slowSub.completed, { what: "completion after the notice" });

    // Resuming from the cursor it was given yields exactly the rest.
    const rest = collect(slow, EVENTS, { customerId: "slow", after: lastCursor });
    await rest.until(cursors.length - delivered.length, 45_000);
    expect([...delivered, ...rest.values().map((d) => d.orderEvents.cursor)]).toEqual(cursors);
    console.log(
      `slow subscriber: fast client got ${cursors.length} events in ${fastMs} ms while the slow one was cut off after ${delivered.length}`,
    );
    await fast.dispose();
    await slow.dispose();
  }, 120_000);
});

describe("restarts", () => {
  it("the api process is killed and restarted mid-stream: the resuming clients (WebSocket and SSE) end with 100% of the events, in order", async () => {
    const port = await freePort();
    let api = spawnRole(env, "api", { PORT: String(port), LOG_LEVEL: "warn" });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, {
      timeoutMs: 30_000,
      what: "api up",
    });
    const [start] = await publishOrders(env.redis, key, 1, "restart");

    const received: string[] = [];
    const sseReceived: string[] = [];
    const client = reconnectingWsClient(port);
    const sub = subscribeResuming<Data>(client, {
      query: EVENTS,
      variables: { customerId: "restart" },
      after: start,
      cursorOf: (d) => d.orderEvents.cursor,
      onData: (d) => received.push(d.orderEvents.cursor),
    });
    const sseSub = subscribeResumingSse<Data>({
      url: `http://127.0.0.1:${port}/graphql`,
      query: EVENTS,
      variables: { customerId: "restart" },
      after: start,
      cursorOf: (d) => d.orderEvents.cursor,
      onData: (d) => sseReceived.push(d.orderEvents.cursor),
      headers: bearer(ADMIN_TOKEN),
      retryDelayMs: 200,
    });
    const publisher = steadyPublisher(env.redis, key, 1200, { batch: 6, everyMs: 5, customerId: "restart" });
    await waitFor(() => received.length > 200 && sseReceived.length > 200, { what: "events before the crash" });
    await api.kill(); // SIGKILL: no goodbye to the clients
    await delay(500);
    api = spawnRole(env, "api", { PORT: String(port), LOG_LEVEL: "warn" });
    await publisher.done;
    await waitFor(() => received.length >= 1200 && sseReceived.length >= 1200, {
      timeoutMs: 40_000,
      what: "every event after the restart",
    });
    await delay(200);
    expect(received).toEqual(publisher.cursors);
    expect(sseReceived).toEqual(publisher.cursors);
    expect(sub.cursor).toBe(publisher.cursors.at(-1));
    sub.dispose();
    sseSub.dispose();
    await client.dispose();
    expect(await api.stop()).toBe(0);
  }, 90_000);
});

describe("connection hygiene", () => {
  let port: number;
  let app: Awaited<ReturnType<TestEnv["start"]>>;
  beforeAll(async () => {
    app = await env.start(["api"], {
      WS_INIT_TIMEOUT_MS: "300",
      WS_MAX_CONNECTIONS: "3",
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: "2",
    });
    port = app.port!;
  });
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, "graphql-transport-ws");
      ws.once("open", () => resolve(ws));
      ws.once("error", reject);
    });
  const closed = (ws: WebSocket) =>
    new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );

  it("closes a socket that never sends connection_init (4408)", async () => {
    const ws = await open();
    expect((await closed(ws)).code).toBe(4408);
  });

  it("caps subscriptions per connection and connections per process", async () => {
    const client = wsClient(port);
    const a = collect(client, EVENTS, { customerId: "cap" });
    const b = collect(client, EVENTS, { customerId: "cap" });
    const c = collect(client, EVENTS, { customerId: "cap" });
    await waitFor(() => c.error || c.received.length);
    expect(((c.error as any[]) ?? c.received[0]!.errors)[0].extensions).toMatchObject({ code: "LIMIT_EXCEEDED" });
    a.dispose();
    b.dispose();
    const sockets = [await open(), await open()];
    await expect(open()).rejects.toThrow(/503/); // with the client's socket above, the cap of 3 is reached
    for (const s of sockets) s.close();
    await client.dispose();
  });

  it("on shutdown: /ready turns 503, sockets close with 1012, SSE streams end with a final result naming their cursor", async () => {
    app = await env.start(["api"]);
    port = app.port!;
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    const ws = await open();
    ws.send(JSON.stringify({ type: "connection_init", payload: bearer(ADMIN_TOKEN) }));
    await new Promise((r) => ws.once("message", r));
    const messages: any[] = [];
    ws.on("message", (m) => messages.push(JSON.parse(m.toString())));
    ws.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: { query: `subscription { orderEvents(customerId: "bye") { cursor } }` },
      }),
    );
    const stream = await sse(port, EVENTS, { customerId: "bye" }, { authorization: `Bearer ${ADMIN_TOKEN}` });
    await delay(300);
    const [last] = await publishOrders(env.redis, key, 1, "bye");
    expect((await stream.next()).data?.orderEvents.cursor).toBe(last);
    await waitFor(() => messages.some((m) => m.type === "next"));
    const ready = new Promise<number>((resolve) => {
      // /ready is asked the moment shutdown begins, before the sockets close.
      const timer = setInterval(() => {
        fetch(`http://127.0.0.1:${port}/ready`)
          .then((r) => r.status !== 200 && (clearInterval(timer), resolve(r.status)))
          .catch(() => (clearInterval(timer), resolve(0)));
      }, 5);
    });
    const [close] = await Promise.all([closed(ws), app.stop()]);
    expect(close).toEqual({ code: 1012, reason: "Service Restart" });
    expect([503, 0]).toContain(await ready);
    // graphql-ws: no final error (the client resubscribes its active subscriptions after 1012).
    expect(messages.filter((m) => m.type === "next").at(-1).payload.data.orderEvents.cursor).toBe(last);
    const ended = await stream.next();
    expect(ended.errors?.[0]?.extensions).toMatchObject({ code: "SERVICE_UNAVAILABLE", lastCursor: last });
  });
});

afterAll(async () => {});
