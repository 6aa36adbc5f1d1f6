import type { Redis } from "ioredis";
import type { Config, Role as RoleName } from "./config.ts";
import type { Logger } from "./platform/observability/logger.ts";
import {
  createDatabase,
  DEFAULT_DATABASE_TIMEOUTS,
  type Database,
  type DatabaseTimeouts,
} from "./platform/infra/database.ts";
import { createRedis, type RedisClient, type RedisTarget } from "./platform/infra/redis.ts";
import { claimStreamLayout } from "./platform/events/layout-guard.ts";
import { OutboxRelay, relayUnits } from "./platform/outbox/relay.ts";
import { StreamHub } from "./platform/live/hub.ts";
import { createApi } from "./platform/graphql/server.ts";
import { loadTrustedDocuments } from "./platform/graphql/trusted-documents.ts";
import type { SharedContext } from "./platform/graphql/context.ts";
import { dlqOf, partitionKeys, type StreamLayout } from "./platform/events/partitions.ts";
import { describeUrls, startupUrls } from "./startup-urls.ts";
import { ConsumerRouter } from "./platform/consumers/router.ts";
import { StreamTrimmer } from "./platform/retention/trimmer.ts";
import { IDEMPOTENCY_KEYS, INBOX_ROWS, RowPurger } from "./platform/retention/row-purger.ts";
import { startHealthServer } from "./platform/observability/health-server.ts";
import { Metrics } from "./platform/observability/metrics.ts";
import { createReadiness, type CheckResults } from "./platform/observability/readiness.ts";
import { installContextPropagation } from "./platform/observability/tracing.ts";
import { createVerifier } from "./platform/auth/tokens.ts";
import { devToken, graphiqlHeaders } from "./platform/auth/dev-tokens.ts";
import type { Role } from "./platform/roles.ts";
import { consumers, eventRegistry, modules } from "./modules.ts";
import { schema } from "./schema.ts";
import { EXAMPLE_OPERATIONS } from "./graphiql-examples.ts";
import { withDeadline } from "./platform/shared/deadline.ts";

export interface RunningApp {
  /** The port the api listens on (useful with PORT=0). */
  port: number | undefined;
  /** The health port of a process without the api role. */
  healthPort: number | undefined;
  relay: OutboxRelay | undefined;
  consumers: ConsumerRouter[];
  stop(): Promise<void>;
}

/** What every role of a process shares: one pool, one commands connection, one registry of metrics. */
interface Infrastructure {
  config: Config;
  log: Logger;
  db: Database;
  redisTarget: RedisTarget;
  redis: RedisClient;
  layout: StreamLayout;
  metrics: Metrics;
}

/**
 * Starts the roles named in the config in this process, in dependency order, and stops them in
 * reverse within SHUTDOWN_TIMEOUT_MS. Each role is built from config by one function below.
 */
export async function startApp(config: Config, log: Logger): Promise<RunningApp> {
  const has = (role: RoleName) => config.ROLES.includes(role);
  installContextPropagation();
  const redisTarget: RedisTarget = { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES };
  // The one stream layout of this process: every role derives its Redis keys from it.
  const layout: StreamLayout = {
    prefix: config.STREAM_PREFIX,
    partitions: config.STREAM_PARTITIONS,
    cluster: Boolean(config.REDIS_CLUSTER_NODES?.length),
  };
  const infra: Infrastructure = {
    config,
    log,
    db: createDatabase(config.DATABASE_URL, poolSize(config, layout, log), undefined, databaseTimeouts(config)),
    redisTarget,
    redis: createRedis(redisTarget, "commands", log),
    layout,
    // One registry per app (per process in production): every role's metrics, served at /metrics.
    metrics: new Metrics(log),
  };
  try {
    await claimStreamLayout(infra.redis, infra.layout, eventRegistry.streams);
  } catch (err) {
    infra.redis.disconnect();
    await infra.db.close();
    throw err;
  }

  const roles: Role[] = [];
  const relay = has("relay") ? new OutboxRelay(relayOptions(infra)) : undefined;
  if (relay) {
    roles.push(relay, ...retentionRoles(infra));
    infra.metrics.watchOutbox(infra.db.pool);
  }
  const routers = consumers
    .filter((c) => has(c.group as RoleName))
    .map((c) => new ConsumerRouter(c, routerOptions(infra, c.group)));
  roles.push(...routers);
  // A module's own roles (reconciliation) run where its consumer group runs: the role of its name.
  for (const module of modules.filter((m) => has(m.name as RoleName)))
    roles.push(
      ...(module.roles?.({
        db: infra.db,
        log: log.child({ role: module.name }),
        metrics: infra.metrics,
        reconciliation: { intervalMs: config.RECONCILE_INTERVAL_MS, graceMs: config.RECONCILE_GRACE_MS },
      }) ?? []),
    );
  if (routers.length)
    infra.metrics.watchConsumerGroups(
      infra.redis,
      routers.map((r) => groupStreams(infra.layout, r.group, r.streams)),
    );
  if (routers.length)
    infra.metrics.watchDeadLetters(
      infra.redis,
      [...new Set(routers.flatMap((r) => r.streams))].map((stream) => ({
        stream,
        dlqKeys: partitionKeys(infra.layout, stream).map(dlqOf),
      })),
    );

  // /ready: Postgres, Redis, migrations applied, and every role of this process running.
  const readiness = infra.metrics.trackReadiness(
    createReadiness({ pool: infra.db.pool, redis: infra.redis, loops: () => roles }),
  );
  const api = has("api") ? apiRole(infra, readiness) : undefined;
  if (api) roles.push(...api.hubs, api);

  const started: Role[] = [];
  for (const role of roles) {
    // A hub waits at most 5 s for Redis: the api still listens, and /ready tells the truth meanwhile.
    if (role instanceof StreamHub) await waitAtMost(5_000, role.start());
    else await role.start();
    started.push(role);
  }
  // In production the api serves /metrics and /ready on the health port only, never to the public.
  const health =
    api && config.NODE_ENV !== "production"
      ? undefined
      : await startHealthServer(config.HEALTH_PORT, config.HOST, readiness, infra.metrics);
  log.info(
    {
      roles: config.ROLES,
      port: api?.port,
      healthPort: health?.port,
      streamPrefix: config.STREAM_PREFIX,
      // Since the process started (module loading included): how long a replica takes to come up.
      startupMs: Math.round(performance.now()),
    },
    "started",
  );
  const urls = startupUrls({
    host: config.HOST,
    port: api?.port,
    healthPort: health?.port,
    graphiql: config.graphiql,
  });
  log.info({ urls }, describeUrls(urls));

  return {
    port: api?.port,
    healthPort: health?.port,
    relay,
    consumers: routers,
    async stop() {
      const work = (async () => {
        for (const role of started.reverse())
          await role.stop().catch((err) => log.error({ err, role: role.name }, "error while stopping"));
        await health?.close(); // closed last: probes keep answering while the work drains
        infra.redis.disconnect();
        await infra.db.close();
      })();
      await waitAtMost(config.SHUTDOWN_TIMEOUT_MS, work);
    },
  };
}

/** Waits for `p`, but no longer than `ms` (what is still running then goes on in the background). */
const waitAtMost = (ms: number, p: Promise<unknown>) =>
  Promise.race([p, new Promise((resolve) => setTimeout(resolve, ms).unref())]);

function databaseTimeouts(config: Config): DatabaseTimeouts {
  return {
    ...DEFAULT_DATABASE_TIMEOUTS,
    connectMs: config.PG_CONNECT_TIMEOUT_MS,
    statementMs: config.PG_STATEMENT_TIMEOUT_MS,
    idleInTransactionMs: config.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}

/**
 * DATABASE_POOL_SIZE, raised for a relay on a Redis Cluster to its publish loops (one per stream
 * partition, each holding a connection while its batch is in Redis) plus a few for the rest of the
 * process. Fewer would queue healthy partitions behind those whose master is failing over.
 */
function poolSize(config: Config, layout: StreamLayout, log: Logger): number {
  if (!config.ROLES.includes("relay")) return config.DATABASE_POOL_SIZE;
  const needed = relayUnits(layout, eventRegistry.streams).length + 3;
  if (needed <= config.DATABASE_POOL_SIZE) return config.DATABASE_POOL_SIZE;
  log.info(
    { configured: config.DATABASE_POOL_SIZE, poolSize: needed },
    "DATABASE_POOL_SIZE raised to the relay's publish loops (one per stream partition) + 3",
  );
  return needed;
}

function relayOptions({ config, log, db, redis, layout, metrics }: Infrastructure) {
  return {
    pool: db.pool,
    databaseUrl: config.DATABASE_URL,
    databaseTimeouts: databaseTimeouts(config),
    redis,
    events: eventRegistry,
    layout,
    log: log.child({ role: "relay" }),
    batchSize: config.RELAY_BATCH_SIZE,
    pollMs: config.RELAY_POLL_MS,
    waitReplicas: config.RELAY_WAIT_REPLICAS,
    waitTimeoutMs: config.RELAY_WAIT_TIMEOUT_MS,
    metrics,
  };
}

/** Retention runs beside the relay: any number of trimmers may run, each trim is safe on its own. */
function retentionRoles({ config, log, db, redis, layout }: Infrastructure): Role[] {
  const retentionLog = log.child({ role: "retention" });
  const roles: Role[] = [
    new RowPurger({
      ...IDEMPOTENCY_KEYS,
      pool: db.pool,
      log: retentionLog,
      ttlMs: config.IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
      intervalMs: config.STREAM_TRIM_INTERVAL_MS,
    }),
    new RowPurger({
      ...INBOX_ROWS,
      pool: db.pool,
      log: retentionLog,
      ttlMs: config.INBOX_RETENTION_MS,
      intervalMs: config.STREAM_TRIM_INTERVAL_MS,
    }),
  ];
  if (config.STREAM_RETENTION_MS !== undefined || config.STREAM_RETENTION_MAX_LEN !== undefined) {
    roles.push(
      new StreamTrimmer({
        redis,
        keys: eventRegistry.streams.flatMap((s) => partitionKeys(layout, s)),
        log: retentionLog,
        maxAgeMs: config.STREAM_RETENTION_MS,
        maxLen: config.STREAM_RETENTION_MAX_LEN,
        intervalMs: config.STREAM_TRIM_INTERVAL_MS,
      }),
    );
  }
  return roles;
}

function routerOptions({ config, log, db, redisTarget, layout, metrics }: Infrastructure, group: string) {
  return {
    pool: db.pool,
    // A connection of its own: XREADGROUP BLOCK holds it while waiting.
    redis: createRedis(redisTarget, `consumer:${group}`, log),
    events: eventRegistry,
    layout,
    log: log.child({ role: group }),
    readCount: config.CONSUMER_READ_COUNT,
    blockMs: config.CONSUMER_BLOCK_MS,
    concurrency: config.CONSUMER_CONCURRENCY,
    maxDeliveries: config.CONSUMER_MAX_DELIVERIES,
    retryBaseMs: config.CONSUMER_RETRY_BASE_MS,
    retryMaxMs: config.CONSUMER_RETRY_MAX_MS,
    claimIdleMs: config.CONSUMER_CLAIM_IDLE_MS,
    metrics,
  };
}

/** Lag and pending of a group, labelled per partition like /metrics (XINFO GROUPS on scrape). */
function groupStreams(layout: StreamLayout, group: string, streams: readonly string[]) {
  return {
    group,
    streams: streams.flatMap((s) =>
      partitionKeys(layout, s).map((key, p) => ({ name: layout.partitions > 1 ? `${s}/${p}` : s, key })),
    ),
  };
}

/** The api: a live hub per stream, then HTTP + WebSocket on PORT. Stopping it drains clients first. */
function apiRole(infra: Infrastructure, readiness: () => Promise<CheckResults>) {
  const { config, log, db, redisTarget, redis, layout, metrics } = infra;
  if (config.authUsesDevSecret) {
    log.warn(
      "AUTH: no AUTH_JWT_SECRET or AUTH_JWKS_URL set — signing and accepting tokens with the PUBLIC development secret. " +
        "Anyone can mint an admin token. Fine on your laptop; set a secret anywhere else (production refuses to start without one).",
    );
  }
  const hubLog = log.child({ role: "live-hub" });
  const hubs = new Map(
    eventRegistry.streams.map((stream) => {
      const keys = partitionKeys(layout, stream);
      const hub = new StreamHub({
        // Named by its stream key, prefix included: on a shared Redis, CLIENT LIST tells deployments apart.
        redis: createRedis(redisTarget, `live-hub:${keys[0]}`, hubLog),
        commands: redis,
        events: eventRegistry,
        key: keys[0]!,
        keys,
        log: hubLog,
        blockMs: config.HUB_BLOCK_MS,
        readCount: config.HUB_READ_COUNT,
        bufferSize: config.SUBSCRIBER_BUFFER,
        dedupeWindow: config.HUB_DEDUPE_WINDOW,
        replayCache: config.HUB_REPLAY_CACHE,
        metrics,
        streamName: stream,
      });
      return [stream, hub] as const;
    }),
  );
  metrics.watchLive(() => Object.fromEntries([...hubs].map(([stream, h]) => [stream, h.subscriberCount])));
  const shared: SharedContext = {
    prisma: db.prisma,
    db,
    hubs,
    // The api's context types the connection as Redis; a Cluster answers the same commands.
    redis: redis as Redis,
    layout,
    events: eventRegistry,
    consumerGroups: consumers.map((c) => ({ group: c.group, streams: c.streams })),
  };
  const api = createApi({
    schema,
    shared,
    graphiqlExamples: EXAMPLE_OPERATIONS,
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
    listenBacklog: config.HTTP_LISTEN_BACKLOG,
    corsOrigins: config.corsOrigins,
    rateLimit: { limit: config.RATE_LIMIT_MUTATIONS, windowMs: config.RATE_LIMIT_WINDOW_MS },
    ws: {
      initTimeoutMs: config.WS_INIT_TIMEOUT_MS,
      keepAliveMs: config.WS_KEEPALIVE_MS,
      maxConnections: config.WS_MAX_CONNECTIONS,
      maxSubscriptionsPerConnection: config.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    },
    opsOnApiPort: config.NODE_ENV !== "production",
    trustedDocuments: config.trustedDocumentsManifest
      ? loadTrustedDocuments(config.trustedDocumentsManifest)
      : undefined,
    subscriptionCaps: { perClient: config.SUBSCRIPTIONS_PER_CLIENT, perProcess: config.SUBSCRIPTIONS_MAX },
    readiness,
    metrics,
  });
  let listening = false;
  const role = {
    name: "api",
    hubs: [...hubs.values()],
    port: undefined as number | undefined,
    get running() {
      return listening;
    },
    async start() {
      role.port = await api.listen(config.PORT, config.HOST);
      // Warm before reporting ready: Yoga's pipeline (parse, validate, limits, execute) on a real
      // request, and Prisma's connection, so the first requests routed here run at steady-state cost.
      // Bounded: a warm-up that never answers must not keep the api from ever reporting ready.
      await withDeadline(
        5_000,
        "api warm-up",
        Promise.all([
          fetch(`http://127.0.0.1:${role.port}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: "{ __typename }" }),
          }).then((r) => r.arrayBuffer()),
          db.prisma.$queryRawUnsafe("SELECT 1"),
        ]),
      ).catch((err) => log.warn({ err }, "api warm-up failed; serving anyway"));
      listening = true;
    },
    async stop() {
      listening = false; // /ready answers 503 from now on
      // WebSocket clients are closed with 1012 and reconnect elsewhere (graphql-ws resubscribes
      // every active subscription); then what is left, SSE streams, gets its buffered events and a
      // final result naming its cursor, and ends.
      await api.close(config.SHUTDOWN_TIMEOUT_MS / 2, () => {
        for (const hub of hubs.values()) hub.drain();
      });
    },
  };
  return role;
}
