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

export function createDatabase(url: string, poolSize: number, applicationName = "order-gateway"): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: applicationName,
    // Fail fast when Postgres is unreachable instead of queueing requests forever.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // A connection dropping (Postgres restarted, network cut) emits "error" on the pool for idle
  // clients and on the client itself for checked-out ones; unhandled, either would crash the
  // process. The query in flight fails on its own and the pool discards the broken client.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
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
