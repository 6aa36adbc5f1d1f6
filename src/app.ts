import type { Config, Role } from "./config.ts";
import type { Logger } from "./platform/observability/logger.ts";
import { createDatabase } from "./platform/infra/database.ts";
import { createRedis } from "./platform/infra/redis.ts";
import { OutboxRelay } from "./platform/outbox/relay.ts";
import { StreamHub } from "./platform/live/hub.ts";
import { createApi, type Api } from "./platform/graphql/server.ts";
import { STREAMS } from "./platform/events/stream-entry.ts";
import { partitionKeys, type StreamLayout } from "./platform/events/partitions.ts";
import type { Redis } from "ioredis";
import type { StreamName } from "./contracts/catalog.ts";
import { ConsumerPipeline } from "./platform/consumers/pipeline.ts";
import type { ConsumerDefinition } from "./platform/consumers/types.ts";
import { inventoryWorker } from "./modules/inventory/worker.ts";
import { orderSagaWorker } from "./modules/orders/saga.ts";
import { StreamTrimmer } from "./platform/retention/trimmer.ts";
import { startHealthServer } from "./platform/observability/health-server.ts";
import { Metrics } from "./platform/observability/metrics.ts";
import { createReadiness, type LoopProbe } from "./platform/observability/readiness.ts";
import { installContextPropagation } from "./platform/observability/tracing.ts";
import { createVerifier } from "./platform/auth/tokens.ts";
import { devToken, graphiqlHeaders } from "./platform/auth/dev-tokens.ts";
import { IdempotencyKeyPurger } from "./platform/idempotency/purger.ts";

export interface RunningApp {
  /** The port the api listens on (useful with PORT=0). */
  port: number | undefined;
  /** The health port of a process without the api role. */
  healthPort: number | undefined;
  relay: OutboxRelay | undefined;
  consumers: ConsumerPipeline[];
  stop(): Promise<void>;
}

/**
 * Starts the roles named in the config in this process. Each role owns its loops and
 * connections; stop() shuts them down in reverse dependency order within SHUTDOWN_TIMEOUT_MS.
 */
export async function startApp(config: Config, log: Logger): Promise<RunningApp> {
  const has = (role: Role) => config.ROLES.includes(role);
  const db = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  // A single Redis, or a Redis Cluster when seed nodes are configured (streams then need partitions).
  const redisTarget = { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES };
  const layout: StreamLayout = { prefix: config.STREAM_PREFIX, partitions: config.STREAM_PARTITIONS, cluster: Boolean(config.REDIS_CLUSTER_NODES?.length) };
  const redis = createRedis(redisTarget, "commands", log);
  const stops: (() => Promise<void>)[] = [];
  installContextPropagation();
  // One registry per app (per process in production): every role's metrics, served at /metrics.
  const metrics = new Metrics(log);
  // /ready: Postgres, Redis, migrations applied, and the loops of this process's roles running.
  const loops: LoopProbe[] = [];
  const loop = (name: string, target: { readonly running: boolean }): LoopProbe => ({ name, get running() { return target.running; } });
  const readiness = createReadiness({ pool: db.pool, redis, loops: () => loops });
  const withTimeout = (ms: number, p: Promise<unknown>) =>
    Promise.race([p, new Promise((resolve) => setTimeout(resolve, ms).unref())]);

  let relay: OutboxRelay | undefined;
  if (has("relay")) {
    relay = new OutboxRelay({
      pool: db.pool,
      databaseUrl: config.DATABASE_URL,
      redis,
      streamPrefix: config.STREAM_PREFIX,
      partitions: config.STREAM_PARTITIONS,
      log: log.child({ role: "relay" }),
      batchSize: config.RELAY_BATCH_SIZE,
      pollMs: config.RELAY_POLL_MS,
      metrics,
    });
    relay.start();
    loops.push(loop("relay", relay));
    metrics.watchOutbox(db.pool);
    stops.push(() => relay!.stop());
    // Retention runs beside the relay: any number of trimmers may run, each trim is safe on its own.
    const trimmer = new StreamTrimmer({
      redis,
      keys: STREAMS.flatMap((s) => partitionKeys(layout, s)),
      log: log.child({ role: "retention" }),
      maxAgeMs: config.STREAM_RETENTION_MS,
      maxLen: config.STREAM_RETENTION_MAX_LEN,
      intervalMs: config.STREAM_TRIM_INTERVAL_MS,
    });
    trimmer.start();
    stops.push(() => trimmer.stop());
    const purger = new IdempotencyKeyPurger({ pool: db.pool, log: log.child({ role: "retention" }), ttlMs: config.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000, intervalMs: config.STREAM_TRIM_INTERVAL_MS });
    purger.start();
    stops.push(() => purger.stop());
  }

  const consumers: ConsumerPipeline[] = [];
  const workers: [Role, ConsumerDefinition][] = [
    ["inventory", inventoryWorker],
    ["orders", orderSagaWorker],
  ];
  for (const [role, definition] of workers) {
    if (!has(role)) continue;
    const pipeline = new ConsumerPipeline(definition, {
      pool: db.pool,
      redis: createRedis(redisTarget, `consumer:${definition.group}`, log),
      streamPrefix: config.STREAM_PREFIX,
      partitions: config.STREAM_PARTITIONS,
      log: log.child({ role }),
      readCount: config.CONSUMER_READ_COUNT,
      blockMs: config.CONSUMER_BLOCK_MS,
      concurrency: config.CONSUMER_CONCURRENCY,
      maxDeliveries: config.CONSUMER_MAX_DELIVERIES,
      retryBaseMs: config.CONSUMER_RETRY_BASE_MS,
      retryMaxMs: config.CONSUMER_RETRY_MAX_MS,
      claimIdleMs: config.CONSUMER_CLAIM_IDLE_MS,
      metrics,
    });
    await pipeline.start();
    consumers.push(pipeline);
    loops.push(loop(`consumer ${definition.group}`, pipeline));
    stops.push(() => pipeline.stop());
  }
  // Lag and pending of the groups this process consumes for, read on scrape (XINFO GROUPS).
  if (consumers.length) {
    const groups = workers.filter(([role]) => has(role)).map(([, d]) => ({ group: d.group, streams: d.streams.flatMap((s) => partitionKeys(layout, s).map((key, p) => ({ name: layout.partitions > 1 ? `${s}/${p}` : s, key }))) }));
    metrics.watchConsumerGroups(redis, groups);
  }

  let api: Api | undefined;
  let port: number | undefined;
  if (has("api")) {
    if (config.authUsesDevSecret) {
      log.warn(
        "AUTH: no AUTH_JWT_SECRET or AUTH_JWKS_URL set — signing and accepting tokens with the PUBLIC development secret. " +
          "Anyone can mint an admin token. Fine on your laptop; set a secret anywhere else (production refuses to start without one).",
      );
    }
    const hubLog = log.child({ role: "live-hub" });
    const hub = (stream: StreamName) =>
      new StreamHub({
        redis: createRedis(redisTarget, `live-hub:${stream}`, hubLog),
        commands: redis,
        key: partitionKeys(layout, stream)[0]!,
        keys: partitionKeys(layout, stream),
        log: hubLog,
        blockMs: config.HUB_BLOCK_MS,
        readCount: config.HUB_READ_COUNT,
        bufferSize: config.SUBSCRIBER_BUFFER,
        metrics,
        streamName: stream,
      });
    const hubs = { orders: hub("orders"), inventory: hub("inventory") };
    for (const [stream, h] of Object.entries(hubs)) loops.push(loop(`live hub ${stream}`, h));
    metrics.watchLive(() => Object.fromEntries(Object.entries(hubs).map(([stream, h]) => [stream, h.subscriberCount])));
    await Promise.all(Object.values(hubs).map((h) => withTimeout(5_000, h.start())));
    api = createApi({
      prisma: db.prisma,
      hubs,
      // The api's context types the connection as Redis; a Cluster answers the same commands.
      redis: redis as Redis,
      streamPrefix: config.STREAM_PREFIX,
      log: log.child({ role: "api" }),
      graphiql: config.graphiql,
      graphiqlHeaders: () => graphiqlHeaders(config),
      devToken: config.authUsesDevSecret ? (who) => devToken(config, who) : undefined,
      verifyToken: createVerifier(config.auth),
      limits: {
        maxDepth: config.GRAPHQL_MAX_DEPTH,
        maxAliases: config.GRAPHQL_MAX_ALIASES,
        maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
        maxTokens: config.GRAPHQL_MAX_TOKENS,
        maxCost: config.GRAPHQL_MAX_COST,
        introspection: config.introspection,
      },
      maxBodyBytes: config.HTTP_MAX_BODY_BYTES,
      corsOrigins: config.corsOrigins,
      rateLimit: { limit: config.RATE_LIMIT_MUTATIONS, windowMs: config.RATE_LIMIT_WINDOW_MS },
      ws: {
        initTimeoutMs: config.WS_INIT_TIMEOUT_MS,
        keepAliveMs: config.WS_KEEPALIVE_MS,
        maxConnections: config.WS_MAX_CONNECTIONS,
        maxSubscriptionsPerConnection: config.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      },
      readiness,
      metrics,
    });
    port = await api.listen(config.PORT, config.HOST);
    stops.push(async () => {
      await api!.close(config.SHUTDOWN_TIMEOUT_MS / 2);
      await Promise.all(Object.values(hubs).map((h) => h.stop()));
    });
  }

  let healthPort: number | undefined;
  if (!api) {
    const health = await startHealthServer(config.HEALTH_PORT, config.HOST, readiness, metrics);
    healthPort = health.port;
    stops.unshift(() => health.close()); // closed last: probes keep answering while the work drains
  }

  log.info({ roles: config.ROLES, port, healthPort, streamPrefix: config.STREAM_PREFIX }, "started");

  return {
    port,
    healthPort,
    relay,
    consumers,
    async stop() {
      const work = (async () => {
        for (const stop of stops.reverse()) await stop().catch((err) => log.error({ err }, "error while stopping"));
        redis.disconnect();
        await db.close();
      })();
      await withTimeout(config.SHUTDOWN_TIMEOUT_MS, work);
    },
  };
}
