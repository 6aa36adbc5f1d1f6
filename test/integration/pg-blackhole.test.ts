/**
 * Postgres behind a path that goes silent (a blackhole: nothing closed, nothing answered). Every
 * request is answered — its result or SERVICE_UNAVAILABLE — within the documented bound
 * (PG_CONNECT_TIMEOUT_MS + PG_STATEMENT_TIMEOUT_MS + 0.5 s per statement), the pool gives the dead
 * connections up, and once forwarding resumes everything works again: new orders are placed and
 * settled, and the relay LISTENs on a fresh connection.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { codeOf, gql } from "../support/graphql-clients.ts";
import { CREATE_ORDER } from "../support/documents.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait.ts";
import type { RunningApp } from "../../src/app.ts";

const STATEMENT_MS = 1_000;
const CONNECT_MS = 1_000;
/** Liveness only: far above the bound, far below "for ever" (what it was before). */
const UNANSWERED_AFTER_MS = 15_000;

let env: TestEnv;
let proxy: TcpProxy;
let app: RunningApp;

beforeAll(async () => {
  env = await createTestEnv("pg-blackhole");
  proxy = await TcpProxy.create({ host: "127.0.0.1", port: 5432 });
  const url = new URL(env.config.DATABASE_URL);
  url.port = String(proxy.port);
  app = await env.start(["api", "relay", "inventory", "orders"], {
    DATABASE_URL: url.toString(),
    PG_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
    PG_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
  });
});
afterAll(() => proxy?.restore());

const order = (customerId: string) =>
  gql(app.port!, CREATE_ORDER, { input: { customerId, items: [{ sku: "SKU-001", quantity: 1 }] } });

/** The request's outcome, or "unanswered" if it hangs. */
async function answered<T>(p: Promise<T>): Promise<T | "unanswered"> {
  let timer: NodeJS.Timeout | undefined;
  const unanswered = new Promise<"unanswered">((r) => (timer = setTimeout(() => r("unanswered"), UNANSWERED_AFTER_MS)));
  try {
    return await Promise.race([p, unanswered]);
  } finally {
    clearTimeout(timer);
  }
}

const listenerSince = async (since: Date) =>
  Number(
    (
      await env.db.pool.query(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'outbox-relay-listener' AND backend_start > $1`,
        [since],
      )
    ).rows[0].n,
  );

it("every request is answered while Postgres is blackholed, and all recovers when it is back", async () => {
  // Warm: the pool holds open connections, the relay LISTENs, the saga runs.
  const first = await order("bh");
  expect(first.errors).toBeUndefined();
  await waitFor(
    async () =>
      (await env.db.prisma.order.findUniqueOrThrow({ where: { id: first.data!.createOrder.order.id } })).status ===
      "CONFIRMED",
    { what: "warm-up order confirmed" },
  );

  proxy.blackhole();
  const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => answered(order(`bh${i}`))));
  for (const outcome of outcomes) {
    expect(outcome).not.toBe("unanswered");
    if (outcome === "unanswered") continue;
    if (outcome.errors) expect(codeOf(outcome)).toBe("SERVICE_UNAVAILABLE");
  }
  // Still silent: a later request is answered too (no pool slot is held for ever).
  const later = await answered(order("bh-later"));
  expect(later).not.toBe("unanswered");
  if (later !== "unanswered") expect(codeOf(later)).toBe("SERVICE_UNAVAILABLE");

  // Long enough for the relay to find its LISTEN connection silent (checked every statement timeout).
  await new Promise((r) => setTimeout(r, 3 * STATEMENT_MS));
  const healedAt = (await env.db.pool.query<{ now: Date }>("SELECT now()")).rows[0]!.now;
  await proxy.restore();
  // Recovered: orders are placed and confirmed, and the relay listens on a new connection.
  await waitFor(async () => (await order("bh-after")).errors === undefined, {
    timeoutMs: 10_000,
    what: "mutations succeed again",
  });
  await waitFor(async () => (await listenerSince(healedAt)) > 0, {
    timeoutMs: 15_000,
    what: "the relay LISTENs on a fresh connection",
  });
  const after = await order("bh-final");
  expect(after.errors).toBeUndefined();
  await waitFor(
    async () =>
      (await env.db.prisma.order.findUniqueOrThrow({ where: { id: after.data!.createOrder.order.id } })).status ===
      "CONFIRMED",
    { timeoutMs: 15_000, what: "an order placed after the blackhole is confirmed" },
  );
}, 90_000);
