import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../generated/prisma/client.ts";
import type { SqlTx } from "./sql-transaction.ts";

export type { PrismaClient };

export interface Database {
  /** One pool for the process: Prisma goes through it (driver adapter), the relay's raw SQL too. */
  pool: pg.Pool;
  prisma: PrismaClient;
  /**
   * The write path of mutations: one Prisma interactive transaction, handed out as the same
   * {@link SqlTx} every event handler writes through. (A single statement needs no transaction:
   * `prisma` itself is a SqlTx whose statements commit on their own — createOrder's one-statement write.)
   */
  transaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * How long anything waits for Postgres. A dead network path or a frozen server closes nothing, so
 * without these a statement waits for ever and holds its pool slot. Bounds, per statement: getting a
 * connection ≤ connectMs; the server cancels a statement after statementMs; if the server says
 * nothing at all, the client gives up statementMs + {@link SILENCE_MARGIN_MS} after sending and
 * destroys that connection (the pool replaces it). An open transaction idle longer than
 * idleInTransactionMs is ended by the server.
 */
export interface DatabaseTimeouts {
  connectMs: number;
  statementMs: number;
  idleInTransactionMs: number;
  /** TCP keepalive: first probe after this much idle time (the OS then probes and gives up). */
  keepAliveMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 5_000,
  statementMs: 5_000,
  idleInTransactionMs: 10_000,
  keepAliveMs: 10_000,
};

/** Time past the server's statement timeout after which a silent connection is declared dead. */
export const SILENCE_MARGIN_MS = 500;

/** pg client/pool settings for these timeouts: every connection the process opens uses them. */
export function connectionSettings(t: DatabaseTimeouts): pg.ClientConfig {
  return {
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: t.keepAliveMs,
  };
}

/**
 * Destroys a client's connection when a query gets no answer within `ms`: its query (and any
 * queued behind it) fails with ETIMEDOUT, which the API reports as SERVICE_UNAVAILABLE, and the
 * pool discards the client instead of handing the dead connection to the next request.
 */
export function guardSilence(client: pg.Client, ms: number): void {
  const original = client.query;
  const kill = () => {
    const err = Object.assign(new Error(`Postgres did not answer within ${ms} ms`), { code: "ETIMEDOUT" });
    (client as unknown as { connection?: { stream?: { destroy(e: Error): void } } }).connection?.stream?.destroy(err);
  };
  client.query = function (this: pg.Client, ...args: unknown[]) {
    const timer = setTimeout(kill, ms);
    const last = args.at(-1);
    if (typeof last === "function") {
      args[args.length - 1] = (...r: unknown[]) => {
        clearTimeout(timer);
        (last as (...a: unknown[]) => void)(...r);
      };
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    }
    const result = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    } else if (result && typeof (result as { once?: unknown }).once === "function") {
      const emitter = result as { once(e: string, f: () => void): void };
      emitter.once("end", () => clearTimeout(timer));
      emitter.once("error", () => clearTimeout(timer));
    } else clearTimeout(timer);
    return result;
  } as typeof client.query;
}

export function createDatabase(
  url: string,
  poolSize: number,
  applicationName = "order-gateway",
  timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS,
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: applicationName,
    ...connectionSettings(timeouts),
    idleTimeoutMillis: 30_000,
  });
  // A connection dropping (Postgres restarted, network cut) emits "error" on the pool for idle
  // clients and on the client itself for checked-out ones; unhandled, either would crash the
  // process. The query in flight fails on its own and the pool discards the broken client.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", () => {});
    guardSilence(client, timeouts.statementMs + SILENCE_MARGIN_MS);
  });
  // A burst (hundreds of createOrder at once) queues for the pool's connections: wait up to 5 s
  // for one (Prisma's default, 2 s, fails such bursts on a busy machine), then SERVICE_UNAVAILABLE.
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    transactionOptions: { maxWait: 5_000, timeout: 10_000 },
  });
  return {
    pool,
    prisma,
    transaction: (work) => prisma.$transaction((tx) => work(tx)),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
