import type { Database, PrismaClient } from "../infra/database.ts";
import type { Logger } from "../observability/logger.ts";
import type { TraceContext } from "../observability/trace.ts";
import type { StreamHub } from "../live/hub.ts";
import type { EventRegistry, StreamName } from "../events/registry.ts";
import type { StreamLayout } from "../events/partitions.ts";
import type { Redis } from "ioredis";
import type { Viewer } from "../auth/principal.ts";

/** A consumer group of the running modules and the streams it reads (admin status). */
export interface ConsumerGroupInfo {
  group: string;
  streams: readonly StreamName[];
}

/** What the process shares with every request: built once by the composition root. */
export interface SharedContext {
  /** Reads (Pothos' Prisma plugin) and single-statement writes. */
  prisma: PrismaClient;
  /** Multi-statement writes: one transaction through the one write type (SqlTx). */
  db: Pick<Database, "transaction">;
  /** The live hub of each stream. */
  hubs: ReadonlyMap<StreamName, StreamHub>;
  /** Commands connection (history reads); never used for blocking calls. */
  redis: Redis;
  layout: StreamLayout;
  events: EventRegistry;
  consumerGroups: readonly ConsumerGroupInfo[];
}

/** What every resolver gets. Built per HTTP request or per WebSocket operation. */
export interface Context extends SharedContext {
  /** The live hub of a stream (a wiring mistake if there is none). */
  hub(stream: StreamName): StreamHub;
  /** Logger bound to this request's trace id. */
  log: Logger;
  trace: TraceContext;
  /** Who to rate-limit: the token subject, else the remote address. */
  clientKey: string;
  /** The verified caller, or null (anonymous: public fields only). */
  viewer: Viewer;
}

export function hubOf(hubs: SharedContext["hubs"], stream: StreamName): StreamHub {
  const hub = hubs.get(stream);
  if (!hub) throw new Error(`no live hub for stream "${stream}"`);
  return hub;
}
