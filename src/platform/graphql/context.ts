import type { PrismaClient } from "../infra/database.ts";
import type { Logger } from "../observability/logger.ts";
import type { TraceContext } from "../observability/trace.ts";
import type { StreamHub } from "../live/hub.ts";
import type { StreamName } from "../../contracts/catalog.ts";
import type { Redis } from "ioredis";
import type { Viewer } from "../auth/principal.ts";

/** What every resolver gets. Built per HTTP request or per WebSocket operation. */
export interface Context {
  prisma: PrismaClient;
  /** Logger bound to this request's trace id. */
  log: Logger;
  trace: TraceContext;
  hubs: Record<StreamName, StreamHub>;
  /** Commands connection (history reads); never used for blocking calls. */
  redis: Redis;
  streamPrefix: string;
  /** Who to rate-limit: the token subject, else the remote address. */
  clientKey: string;
  /** The verified caller, or null (anonymous: public fields only). */
  viewer: Viewer;
}
