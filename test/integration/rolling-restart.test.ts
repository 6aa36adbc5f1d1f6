/**
 * A rolling restart with real processes: two api processes behind a round-robin TCP balancer (a
 * Service that skips a replica refusing connections), the relay and both workers as processes of
 * their own, resuming subscribers from src/client over graphql-ws and SSE with a mix of filters,
 * and orders flowing at ~20/s through the balancer while api A is restarted with SIGTERM, then api
 * B, then A is SIGKILLed and started again. Afterwards every subscriber has every event of its
 * filter, in stream order, once — compared with the streams and the database — every order settled
 * and stock is exact. The connection gaps and resubscribes per restart are printed.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { gql, typed } from "../support/graphql-clients.ts";
import { CREATE_ORDER } from "../support/documents.ts";
import { delay, waitFor } from "../support/wait.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { freePort } from "../support/private-redis.ts";
import { RoundRobinBalancer } from "../support/tcp-proxy.ts";
import { ADMIN_TOKEN, bearer } from "../support/auth.ts";
import { streamKey } from "../support/streams.ts";
import { decodeEntry } from "../../src/platform/events/stream-entry.ts";
import {
  jittered,
  subscribeResuming,
  subscribeResumingSse,
  type ResumingSubscription,
} from "../../src/client/resuming-subscription.ts";

const RATE = 20; // orders per second
const MAX_ORDERS = 1_500; // bound, whatever the restarts take
const CUSTOMERS = ["rr-0", "rr-1", "rr-2", "rr-3", "rr-4", "rr-5"];
/** RR-A runs out during the run (both outcomes go through the saga); the others never do. */
const STOCK: Record<string, number> = { "RR-A": 150, "RR-B": 5_000, "RR-C": 5_000 };
const SKUS = Object.keys(STOCK);
const WS_CLIENTS = 8;
/** Clients placing orders: at most this many requests in flight. */
const PLACERS = 6;
/** After a replica is ready again: every socket reconnected, events flowing, before the next restart. */
const SETTLE_MS = 2_000;
/** The relay and both workers (inventory, order saga): one process of their own, beside the apis. */
const WORKER_ROLES = ["relay,inventory,orders"];

type Event = { cursor: string; eventId: string; occurredAt: string };
type OrderData = { orderEvents: Event };
type InventoryData = { inventoryEvents: Event };
const ORDER_EVENTS = typed<OrderData>(`subscription($customerId: ID, $types: [OrderEventType!], $after: String) {
  orderEvents(customerId: $customerId, types: $types, after: $after) { cursor eventId occurredAt }
}`);
const INVENTORY_EVENTS = typed<InventoryData>(`subscription($sku: String, $after: String) {
  inventoryEvents(sku: $sku, after: $after) { cursor eventId occurredAt }
}`);

/** One event as the stream holds it (the ground truth). */
interface Truth {
  eventId: string;
  eventType: string;
  aggregateId: string;
  payload: Record<string, any>;
}

interface Subscriber {
  name: string;
  transport: "ws" | "sse";
  stream: "orders" | "inventory";
  wants: (e: Truth) => boolean;
  received: { eventId: string; at: number; occurredAt: number }[];
  /** SSE: requests made (the first, then one per resume). */
  requests: number;
  errors: unknown[];
  handle?: ResumingSubscription;
}

interface WsStats {
  client: Client;
  subscriptions: number;
  connects: number;
  /** Set while the socket is down: when it closed. */
  downSince: number | undefined;
  gaps: { closedAt: number; ms: number }[];
  /** The client's last events, with when (for a failure message). */
  trail: string[];
}

let env: TestEnv;
let balancer: RoundRobinBalancer;
const apiPorts: number[] = [];
const apis: AppProcess[] = [];
const workers: AppProcess[] = [];

const spawnApi = (port: number) =>
  spawnRole(env, "api", {
    PORT: String(port),
    LOG_LEVEL: "warn",
    DATABASE_POOL_SIZE: "8",
    HUB_BLOCK_MS: "1000",
    SHUTDOWN_TIMEOUT_MS: "8000",
  });

/** Generous: on a loaded 2-core machine a process can take tens of seconds to load its modules. */
async function ready(port: number, proc: AppProcess, name = "api"): Promise<void> {
  let last = "no answer";
  await waitFor(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`process on ${port} died: ${proc.exitReport()}`);
      const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => null);
      if (res) last = `${res.status} ${await res.text()}`;
      return res?.status === 200;
    },
    { timeoutMs: 240_000, intervalMs: 100, what: `the ${name} process (port ${port}) to be ready` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; /ready: ${last}; ${proc.exitReport()}`);
  });
}

beforeAll(async () => {
  env = await createTestEnv("rolling-restart", { seed: false });
  for (const [sku, onHand] of Object.entries(STOCK))
    await env.db.prisma.product.create({
      data: { sku, name: sku, priceCents: 300, currency: "EUR", stock: { create: { onHand } } },
    });
  apiPorts.push(await freePort(), await freePort());
  apis.push(...apiPorts.map(spawnApi));
  const healthPorts: number[] = [];
  for (const role of WORKER_ROLES) {
    const port = await freePort();
    healthPorts.push(port);
    workers.push(
      spawnRole(env, role, {
        HEALTH_PORT: String(port),
        LOG_LEVEL: "warn",
        DATABASE_POOL_SIZE: "6",
        RELAY_POLL_MS: "100",
      }),
    );
  }
  await Promise.all([
    ...apis.map((p, i) => ready(apiPorts[i]!, p)),
    ...workers.map((p, i) => ready(healthPorts[i]!, p, WORKER_ROLES[i])),
  ]);
  balancer = await RoundRobinBalancer.create(apiPorts.map((port) => ({ host: "127.0.0.1", port })));
}, 300_000);

afterAll(async () => {
  await Promise.all([...apis, ...workers].map((p) => p.kill()));
  await balancer?.close();
});

/** Deterministic pseudo-random numbers, so a failing run can be reproduced. */
function rng(seed: number) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

describe("rolling restart", () => {
  it(
    "two apis restarted (SIGTERM, SIGTERM, SIGKILL) under steady orders: every subscriber gets every event of its filter, in order, once",
    { timeout: 600_000 },
    async () => {
      const random = rng(20261202);
      const lag = monitorEventLoopDelay({ resolution: 20 });
      lag.enable();
      const t0 = Date.now();
      const url = `http://127.0.0.1:${balancer.port}/graphql`;

      // Subscribers: per customer one over graphql-ws and one over SSE; the outcomes only; the firehose;
      // per sku one inventory subscriber (and one more over SSE). Every one from the very start ("0-0").
      const subscribers: Subscriber[] = [];
      const add = (s: Omit<Subscriber, "received" | "requests" | "errors">) => {
        const full: Subscriber = { ...s, received: [], requests: 0, errors: [] };
        subscribers.push(full);
        return full;
      };
      const forCustomer = (c: string) => (e: Truth) => e.payload.customerId === c;
      const forSku = (sku: string) => (e: Truth) =>
        [...(e.payload.items ?? []), ...(e.payload.shortSkus ?? []), e.payload].some((i) => i.sku === sku);
      const wsSpecs: { sub: Subscriber; query: string; variables: Record<string, unknown> }[] = [];
      for (const c of CUSTOMERS) {
        const sub = add({ name: `ws customer ${c}`, transport: "ws", stream: "orders", wants: forCustomer(c) });
        wsSpecs.push({ sub, query: ORDER_EVENTS, variables: { customerId: c } });
      }
      const outcomes = ["OrderConfirmed", "OrderRejected"];
      wsSpecs.push({
        sub: add({
          name: "ws outcomes",
          transport: "ws",
          stream: "orders",
          wants: (e) => outcomes.includes(e.eventType),
        }),
        query: ORDER_EVENTS,
        variables: { types: outcomes },
      });
      wsSpecs.push({
        sub: add({ name: "ws firehose", transport: "ws", stream: "orders", wants: () => true }),
        query: ORDER_EVENTS,
        variables: {},
      });
      for (const sku of SKUS) {
        const sub = add({ name: `ws sku ${sku}`, transport: "ws", stream: "inventory", wants: forSku(sku) });
        wsSpecs.push({ sub, query: INVENTORY_EVENTS, variables: { sku } });
      }

      const clients: WsStats[] = [];
      for (let i = 0; i < WS_CLIENTS; i++) {
        const stats: WsStats = {
          client: undefined as never,
          subscriptions: 0,
          connects: 0,
          downSince: undefined,
          gaps: [],
          trail: [],
        };
        const note = (what: string) => stats.trail.push(`${what} @${Date.now() - t0}`);
        stats.client = createClient({
          url: url.replace(/^http/, "ws"),
          webSocketImpl: WebSocket,
          connectionParams: bearer(ADMIN_TOKEN),
          lazy: false,
          retryAttempts: Number.POSITIVE_INFINITY,
          shouldRetry: () => true,
          retryWait: (retries) => delay(jittered(Math.min(200 * 2 ** retries, 2_000))),
          on: {
            connecting: () => note("connecting"),
            opened: () => note("opened"),
            connected: () => {
              note("connected");
              if (stats.downSince !== undefined)
                stats.gaps.push({ closedAt: stats.downSince, ms: Date.now() - stats.downSince });
              stats.downSince = undefined;
              stats.connects++;
            },
            closed: (event) => {
              stats.downSince ??= Date.now();
              const { code, reason } = event as { code?: number; reason?: string };
              note(`closed ${code} ${reason ?? ""}`);
            },
            error: (err) => note(`error ${String((err as Error)?.message ?? err)}`),
          },
        });
        clients.push(stats);
      }
      const onEvent = (sub: Subscriber) => (e: Event) =>
        sub.received.push({ eventId: e.eventId, at: Date.now(), occurredAt: Date.parse(e.occurredAt) });
      wsSpecs.forEach(({ sub, query, variables }, i) => {
        const stats = clients[i % WS_CLIENTS]!;
        stats.subscriptions++;
        const push = onEvent(sub);
        sub.handle = subscribeResuming<OrderData & InventoryData>(stats.client, {
          query,
          variables,
          after: "0-0",
          cursorOf: (d) => (d.orderEvents ?? d.inventoryEvents).cursor,
          onData: (d) => push(d.orderEvents ?? d.inventoryEvents),
          onError: (errors) => sub.errors.push(errors),
        });
      });
      const sseSpecs = [
        ...CUSTOMERS.map((c) => ({
          sub: add({ name: `sse customer ${c}`, transport: "sse", stream: "orders", wants: forCustomer(c) }),
          query: ORDER_EVENTS,
          variables: { customerId: c } as Record<string, unknown>,
        })),
        {
          sub: add({ name: "sse sku RR-A", transport: "sse", stream: "inventory", wants: forSku("RR-A") }),
          query: INVENTORY_EVENTS,
          variables: { sku: "RR-A" },
        },
      ];
      for (const { sub, query, variables } of sseSpecs) {
        const push = onEvent(sub);
        sub.handle = subscribeResumingSse<OrderData & InventoryData>({
          url,
          headers: bearer(ADMIN_TOKEN),
          query,
          variables,
          after: "0-0",
          retryDelayMs: 300,
          cursorOf: (d) => (d.orderEvents ?? d.inventoryEvents).cursor,
          onData: (d) => push(d.orderEvents ?? d.inventoryEvents),
          onError: (errors) => sub.errors.push(errors),
          onResubscribe: () => sub.requests++,
        });
      }
      await waitFor(() => clients.every((c) => c.connects > 0), { what: "every WebSocket client connected" });
      const spread = [...balancer.routed];

      // Orders at RATE/s through the balancer until the restarts are over, each retried (same idempotency
      // key) while its replica goes away under it.
      let restartsDone = false;
      let mutationRetries = 0;
      const placeOne = async (n: number): Promise<string> => {
        const lines = SKUS.filter(() => random() < 0.45).slice(0, 2);
        const items = (lines.length ? lines : [SKUS[n % SKUS.length]!]).map((sku) => ({
          sku,
          quantity: 1 + Math.floor(random() * 2),
        }));
        const variables = { input: { customerId: CUSTOMERS[n % CUSTOMERS.length]!, items }, idempotencyKey: `rr-${n}` };
        for (let attempt = 0; ; attempt++) {
          const res = await gql(balancer.port, CREATE_ORDER, variables).catch((err: unknown) => ({
            errors: [{ message: String(err) }],
            data: undefined,
          }));
          if (!res.errors?.length && res.data) return res.data.createOrder.order.id;
          if (attempt === 30) throw new Error(`order ${n} refused 30 times: ${JSON.stringify(res.errors)}`);
          mutationRetries++;
          await delay(100 + 50 * attempt);
        }
      };
      // A few clients, each placing the next order when it is due (so in-flight requests stay bounded:
      // a replica that is slow to answer slows the rate instead of piling up connections).
      const ids: string[] = [];
      let next = 0;
      let stopAt = MAX_ORDERS;
      const placer = Promise.all(
        Array.from({ length: PLACERS }, async () => {
          while (next < stopAt) {
            if (restartsDone && stopAt === MAX_ORDERS) stopAt = Math.min(MAX_ORDERS, next + RATE * 2); // 2 s more
            const n = next++;
            const due = t0 + (n * 1000) / RATE;
            if (due > Date.now()) await delay(due - Date.now());
            ids.push(await placeOne(n));
          }
        }),
      );

      // The restarts, one replica at a time; each waits until the replica is ready again and every socket is back.
      const phases: { name: string; from: number; to: number; stopMs: number; startMs: number }[] = [];
      const restart = async (name: string, slot: number, signal: "SIGTERM" | "SIGKILL") => {
        const from = Date.now();
        if (signal === "SIGTERM") expect(await apis[slot]!.stop(), apis[slot]!.exitReport()).toBe(0);
        else await apis[slot]!.kill();
        const exited = Date.now();
        apis[slot] = spawnApi(apiPorts[slot]!);
        await ready(apiPorts[slot]!, apis[slot]!);
        const startMs = Date.now() - exited;
        await waitFor(() => clients.every((c) => c.downSince === undefined), {
          timeoutMs: 60_000,
          what: "every WebSocket client connected again",
        }).catch((err: Error) => {
          const down = clients
            .filter((c) => c.downSince !== undefined)
            .map((c) => `down since @${c.downSince! - t0}: ${c.trail.slice(-6).join(", ")}`);
          throw new Error(
            `${err.message} (now @${Date.now() - t0}): ${down.join("; ")}; routed ${balancer.routed}; loop lag max ${Math.round(lag.max / 1e6)} ms; open sockets ${balancer.open}`,
          );
        });
        await delay(SETTLE_MS);
        phases.push({ name, from, to: Date.now(), stopMs: exited - from, startMs });
      };
      await waitFor(() => ids.length >= RATE * 2, { timeoutMs: 60_000, what: "orders flowing" });
      try {
        await restart("SIGTERM api A", 0, "SIGTERM");
        await restart("SIGTERM api B", 1, "SIGTERM");
        await restart("SIGKILL api A", 0, "SIGKILL");
      } finally {
        restartsDone = true;
        await placer;
      }
      const placedMs = Date.now() - t0;

      // Settle: every order decided, the outbox drained; then the ground truth from the streams.
      await waitFor(
        async () => (await env.db.prisma.order.count({ where: { status: "PENDING" } })) === 0 && ids.length > 0,
        { timeoutMs: 90_000, intervalMs: 250, what: "every order to settle" },
      );
      await waitFor(async () => (await env.db.prisma.outboxEvent.count()) === 0, {
        timeoutMs: 30_000,
        what: "the outbox to drain",
      });
      const truth = { orders: await streamTruth("orders"), inventory: await streamTruth("inventory") };
      const expected = new Map(subscribers.map((s) => [s, truth[s.stream].filter(s.wants).map((e) => e.eventId)]));
      await waitFor(() => subscribers.every((s) => s.received.length >= expected.get(s)!.length), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: "every subscriber to catch up",
      }).catch(() => undefined); // the assertions below say who is missing what
      await delay(500); // a duplicate would arrive now
      const settledMs = Date.now() - t0;

      // 1. The orders: every one decided, its two events on the stream, stock exact.
      const orders = await env.db.prisma.order.findMany({ select: { id: true, status: true } });
      expect(orders).toHaveLength(ids.length);
      expect(new Set(ids).size).toBe(ids.length);
      const statuses: Record<string, number> = {};
      for (const o of orders) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
      expect(Object.keys(statuses).sort()).toEqual(["CONFIRMED", "REJECTED"]); // both outcomes ran
      const byOrder = new Map<string, string[]>();
      for (const e of truth.orders) byOrder.set(e.aggregateId, [...(byOrder.get(e.aggregateId) ?? []), e.eventType]);
      for (const o of orders)
        expect(byOrder.get(o.id), o.id).toEqual([
          "OrderCreated",
          o.status === "CONFIRMED" ? "OrderConfirmed" : "OrderRejected",
        ]);
      const confirmed = new Set(orders.filter((o) => o.status === "CONFIRMED").map((o) => o.id));
      const reserved: Record<string, number> = Object.fromEntries(SKUS.map((s) => [s, 0]));
      for (const e of truth.orders)
        if (e.eventType === "OrderCreated" && confirmed.has(e.aggregateId))
          for (const line of e.payload.items) reserved[line.sku] += line.quantity;
      const stock = await env.db.prisma.stockLevel.findMany({ where: { sku: { in: SKUS } }, orderBy: { sku: "asc" } });
      expect(stock.map((s) => ({ sku: s.sku, onHand: s.onHand, reserved: s.reserved }))).toEqual(
        SKUS.map((sku) => ({ sku, onHand: STOCK[sku], reserved: reserved[sku] })),
      );

      // 2. Every subscriber: every event of its filter, in stream order, once.
      for (const s of subscribers) {
        const want = expected.get(s)!;
        const got = s.received.map((r) => r.eventId);
        const wanted = new Set(want);
        const gotSet = new Set(got);
        const summary = {
          errors: s.errors,
          lost: want.filter((id) => !gotSet.has(id)).length,
          duplicated: got.length - gotSet.size,
          foreign: got.filter((id) => !wanted.has(id)).length,
        };
        expect(summary, s.name).toEqual({ errors: [], lost: 0, duplicated: 0, foreign: 0 });
        expect(got, `${s.name}: in stream order`).toEqual(want);
        expect(want.length, `${s.name} has events to check`).toBeGreaterThan(0);
      }

      // Figures: per restart, how long the sockets were down and how late events arrived.
      const lines = phases.map((p) => {
        const gaps = clients.flatMap((c) => c.gaps.filter((g) => g.closedAt >= p.from && g.closedAt < p.to));
        const late = subscribers.flatMap((s) =>
          s.received.filter((r) => r.occurredAt >= p.from && r.occurredAt < p.to).map((r) => r.at - r.occurredAt),
        );
        const sockets = clients.filter((c) => c.gaps.some((g) => g.closedAt >= p.from && g.closedAt < p.to));
        const ms = gaps.map((g) => g.ms);
        return (
          `rolling-restart: ${p.name}: stopped in ${p.stopMs} ms, ready again ${p.startMs} ms later; ` +
          `${sockets.length}/${WS_CLIENTS} sockets reconnected (${sockets.reduce((n, c) => n + c.subscriptions, 0)} subscriptions resumed), ` +
          `down max ${Math.max(0, ...ms)} ms p50 ${quantile(ms, 0.5)} ms; ` +
          `commit→delivery max ${Math.max(0, ...late)} ms p50 ${quantile(late, 0.5)} ms`
        );
      });
      const counts = subscribers.map((s) => s.received.length);
      const wsResubscribes = clients.reduce((n, c) => n + (c.connects - 1) * c.subscriptions, 0);
      const sseResubscribes = subscribers.reduce((n, s) => n + Math.max(0, s.requests - 1), 0);
      console.log(
        [
          `rolling-restart: ${ids.length} orders in ${(placedMs / 1000).toFixed(1)} s (${statuses.CONFIRMED} confirmed, ${statuses.REJECTED} rejected, ${mutationRetries} mutation retries), all delivered after ${(settledMs / 1000).toFixed(1)} s`,
          `rolling-restart: ${subscribers.length} subscribers (${wsSpecs.length} graphql-ws on ${WS_CLIENTS} sockets, ${sseSpecs.length} SSE), first spread ${spread.join("/")} connections; ` +
            `events per subscriber min ${Math.min(...counts)} p50 ${quantile(counts, 0.5)} max ${Math.max(...counts)}, ${counts.reduce((a, b) => a + b, 0)} in all; ` +
            `resubscribes: ${wsResubscribes} graphql-ws, ${sseResubscribes} SSE; 0 lost, 0 duplicated`,
          ...lines,
        ].join("\n"),
      );

      for (const s of subscribers) s.handle?.dispose();
      await Promise.all(clients.map((c) => c.client.dispose()));
    },
  );
});

/** A stream's events in stream order, each once (a copy the relay published again counts once). */
async function streamTruth(stream: "orders" | "inventory"): Promise<Truth[]> {
  const entries = (await env.redis.xrange(streamKey(env.config.STREAM_PREFIX, stream), "-", "+")) as [
    string,
    string[],
  ][];
  const seen = new Set<string>();
  const events: Truth[] = [];
  for (const [id, fields] of entries) {
    const envelope = JSON.parse(decodeEntry(id, fields).json);
    if (seen.has(envelope.eventId)) continue;
    seen.add(envelope.eventId);
    events.push(envelope);
  }
  return events;
}
