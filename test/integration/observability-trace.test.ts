import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, dataOf, gql, wsClient } from "../support/graphql-clients.ts";
import { CREATE_ORDER, ORDER_EVENTS } from "../support/documents.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { parseTraceparent } from "../../src/platform/observability/trace.ts";
import { ADMIN_TOKEN, bearer } from "../support/auth.ts";

/**
 * One order crosses four processes (api, relay, inventory worker, order saga worker). The trace id
 * the client sent in `traceparent` must show up in the logs of every one of them, on the outbox row
 * and stream entry (as the envelope's traceparent), and on the events the subscriber receives.
 */
describe("one trace from request to subscriber across every role", () => {
  let env: TestEnv;
  const procs: Record<string, AppProcess> = {};
  let port: number;

  beforeAll(async () => {
    env = await createTestEnv("obs-trace");
    for (const role of ["api", "relay", "inventory", "orders"]) procs[role] = spawnRole(env, role);
    const started = await waitFor(
      () => procs.api!.logs.find((l) => l.msg === "started" && typeof l.port === "number"),
      { timeoutMs: 60_000, what: "api start" },
    );
    port = started.port as number;
    await waitFor(() => ["relay", "inventory", "orders"].every((r) => procs[r]!.count("started") === 1), {
      timeoutMs: 60_000,
      what: "workers start",
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
  });

  it("carries the caller's trace id through api → outbox → relay → inventory → saga → subscriber", async () => {
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const customerId = `trace-${traceId.slice(0, 8)}`;

    const client = wsClient(port);
    const sub = collect(client, ORDER_EVENTS, { customerId });
    // The subscription is registered once the api has logged it; only then place the order.
    await waitFor(() => procs.api!.logs.some((l) => l.msg === "subscription started"), {
      what: "subscription registered",
    });

    const res = await gql(
      port,
      CREATE_ORDER,
      { input: { customerId, items: [{ sku: "SKU-004", quantity: 1 }] } },
      { traceparent: `00-${traceId}-${callerSpan}-01` },
    );
    const { createOrder } = dataOf(res); // throws if it carries errors
    const orderId = createOrder.order.id;
    expect(createOrder.traceId).toBe(traceId);
    // The response names the api's own span: same trace, a new span id.
    const echoed = parseTraceparent(res.headers.get("traceparent"));
    expect(echoed?.traceId).toBe(traceId);
    expect(echoed?.spanId).not.toBe(callerSpan);

    await sub.until(2, 20_000);
    client.dispose();
    const got = sub.values().map((e) => e.orderEvents);
    expect(got.map((e) => e.__typename)).toEqual(["OrderCreated", "OrderConfirmed"]);
    for (const e of got) expect(e).toMatchObject({ orderId, traceId });

    // Every role logged its part of this order's work with the trace id.
    const linesOf = (role: string) => procs[role]!.logs.filter((l) => l.traceId === traceId);
    const messages = (role: string) => linesOf(role).map((l) => `${l.msg}${l.eventType ? ` ${l.eventType}` : ""}`);
    const expected: Record<string, string[]> = {
      api: ["graphql operation", "live hub delivering event OrderCreated", "live hub delivering event OrderConfirmed"],
      relay: [
        "relay published event OrderCreated",
        "relay published event StockReserved",
        "relay published event OrderConfirmed",
      ],
      inventory: ["event handled OrderCreated"],
      orders: ["event handled StockReserved"],
    };
    // Log lines arrive through pipes, in no particular order between processes: wait for all of them.
    const missing = () =>
      Object.entries(expected).flatMap(([role, msgs]) =>
        msgs.filter((m) => !messages(role).includes(m)).map((m) => `${role}: ${m}`),
      );
    await waitFor(() => missing().length === 0, { what: "every role's log lines with the trace id" }).catch(() => {});
    expect(missing()).toEqual([]);
    // No process logged this order's events under another trace id.
    for (const [role, proc] of Object.entries(procs)) {
      const foreign = proc.logs.filter((l) => l.aggregateId === orderId && l.traceId !== traceId);
      expect(foreign, role).toEqual([]);
    }

    // The events of the saga are children of the request: same trace id, each hop its own span id.
    const history = (await env.redis.xrange(`${env.config.STREAM_PREFIX}:orders`, "-", "+")) as [string, string[]][];
    const inventory = (await env.redis.xrange(`${env.config.STREAM_PREFIX}:inventory`, "-", "+")) as [
      string,
      string[],
    ][];
    const parents = [...history, ...inventory]
      .map(
        ([, fields]) =>
          JSON.parse(fields[fields.indexOf("env") + 1]!) as {
            aggregateId: string;
            eventType: string;
            traceparent: string;
          },
      )
      .filter((e) => e.aggregateId === orderId)
      .map((e) => [e.eventType, parseTraceparent(e.traceparent)!] as const);
    expect(parents.map(([type]) => type).sort()).toEqual(["OrderConfirmed", "OrderCreated", "StockReserved"]);
    for (const [, p] of parents) expect(p.traceId).toBe(traceId);
    expect(new Set([callerSpan, ...parents.map(([, p]) => p.spanId)]).size).toBe(4);
    // OrderCreated names the api's request span, the one echoed to the client.
    expect(parents.find(([type]) => type === "OrderCreated")![1].spanId).toBe(echoed!.spanId);
  }, 60_000);

  it("continues the traceparent of a graphql-ws connection (connection_init payload) for operations on it", async () => {
    const traceId = randomBytes(16).toString("hex");
    const client = wsClient(port, {
      ...bearer(ADMIN_TOKEN),
      traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
    });
    const mutation = collect(client, CREATE_ORDER, {
      input: { customerId: "trace-ws", items: [{ sku: "SKU-004", quantity: 1 }] },
    });
    await mutation.until(1);
    client.dispose();
    const { createOrder } = mutation.value(0); // throws if it carried errors
    expect(createOrder.traceId).toBe(traceId);
    const orderId = createOrder.order.id;
    await waitFor(
      () =>
        procs.orders!.logs.some((l) => l.traceId === traceId && l.msg === "event handled" && l.aggregateId === orderId),
      { what: "the saga to log the websocket trace id" },
    );
  }, 30_000);
});
