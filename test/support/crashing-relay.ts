/**
 * A relay process that dies (SIGKILL, no cleanup) right after its first batch reached Redis and
 * before the outbox delete committed: the worst moment for an at-least-once relay.
 * Usage: tsx test/support/crashing-relay.ts <databaseUrl> <redisUrl> <streamPrefix> <batchSize>
 */
import pino from "pino";
import { createDatabase } from "../../src/platform/infra/database.ts";
import { createRedis } from "../../src/platform/infra/redis.ts";
import { OutboxRelay } from "../../src/platform/outbox/relay.ts";
import { eventRegistry } from "../../src/modules.ts";
import { singleLayout } from "./streams.ts";

const [databaseUrl, redisUrl, streamPrefix, batchSize] = process.argv.slice(2) as [string, string, string, string];
const db = createDatabase(databaseUrl, 2);
new OutboxRelay({
  pool: db.pool,
  databaseUrl,
  redis: createRedis(redisUrl, "crashing-relay"),
  events: eventRegistry,
  layout: singleLayout(streamPrefix),
  log: pino({ level: "silent" }),
  batchSize: Number(batchSize),
  pollMs: 100,
  beforeCommit: () => {
    process.kill(process.pid, "SIGKILL");
  },
}).start();
