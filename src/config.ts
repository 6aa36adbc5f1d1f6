import { z } from "zod";
import type { AuthSettings } from "./platform/auth/tokens.ts";

export const ROLES = ["api", "relay", "inventory", "orders"] as const;
export type Role = (typeof ROLES)[number];

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  ROLES: z
    .string()
    .default(ROLES.join(","))
    .transform((s) =>
      s
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(ROLES)).min(1, "name at least one role")),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default("postgresql://postgres@127.0.0.1:5432/orders"),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  /** Postgres bounds (every pool and the relay's LISTEN connection): see DatabaseTimeouts in platform/infra/database.ts. */
  PG_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5_000),
  PG_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(5_000),
  PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(100, 600_000).default(10_000),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default("redis://127.0.0.1:6379"),
  /** Redis Cluster seed nodes (host:port,…); when set, REDIS_URL only lends credentials and TLS. */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.string().regex(/^[A-Za-z0-9_.-]+:\d{1,5}$/, "each node must be host:port"))
        .min(1, "name at least one node"),
    )
    .optional(),
  /** Partitions per stream; 1 keeps the plain stream keys and cursors. Fixed for the life of the data. */
  STREAM_PARTITIONS: int(1, 1024).default(1),
  STREAM_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:.-]{1,64}$/, "letters, digits and _ : . - only")
    .default("events"),
  /** Default: 0.0.0.0 in production, 127.0.0.1 otherwise (development hands out dev tokens). */
  HOST: z.string().optional(),
  PORT: int(0, 65535).default(4000),
  /** /health and /ready of a process without the api role. */
  HEALTH_PORT: int(0, 65535).default(9090),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_PRETTY: bool.optional(),
  /** OTLP/HTTP collector (e.g. http://otel-collector:4318); spans are exported only when set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("order-gateway"),
  /** GraphiQL at GET /graphql; on by default except in production. */
  GRAPHIQL: bool.optional(),
  RELAY_BATCH_SIZE: int(1, 10_000).default(500),
  RELAY_POLL_MS: int(10, 60_000).default(1000),
  RELAY_WAIT_REPLICAS: int(0, 16).default(0),
  RELAY_WAIT_TIMEOUT_MS: int(10, 60_000).default(1000),
  HUB_BLOCK_MS: int(100, 60_000).default(5000),
  HUB_READ_COUNT: int(1, 10_000).default(500),
  SUBSCRIBER_BUFFER: int(1, 100_000).default(1000),
  HUB_DEDUPE_WINDOW: int(0, 1_000_000).default(10_000),
  /** Recent entries each live hub keeps in memory to serve resumes without reading the stream; 0 = off. */
  HUB_REPLAY_CACHE: int(0, 1_000_000).default(10_000),
  /** graphql-ws: close sockets that send no connection_init within this time (4408). */
  WS_INIT_TIMEOUT_MS: int(100, 60_000).default(3_000),
  /** graphql-ws ping interval; a socket that misses a pong is terminated. 0 = off. */
  WS_KEEPALIVE_MS: int(0, 600_000).default(12_000),
  WS_MAX_CONNECTIONS: int(1, 1_000_000).default(25_000),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 10_000).default(100),
  /** Live subscriptions one client (token principal, else address) may hold over WebSocket and SSE together. */
  SUBSCRIPTIONS_PER_CLIENT: int(1, 1_000_000).default(1_000),
  /** Live subscriptions one api process holds, every transport together. */
  SUBSCRIPTIONS_MAX: int(1, 10_000_000).default(100_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000).default(10_000),
  CONSUMER_READ_COUNT: int(1, 10_000).default(100),
  CONSUMER_BLOCK_MS: int(10, 60_000).default(2000),
  CONSUMER_CONCURRENCY: int(1, 256).default(8),
  CONSUMER_MAX_DELIVERIES: int(1, 1000).default(5),
  CONSUMER_RETRY_BASE_MS: int(1, 60_000).default(100),
  CONSUMER_RETRY_MAX_MS: int(1, 600_000).default(5_000),
  CONSUMER_CLAIM_IDLE_MS: int(100, 3_600_000).default(30_000),
  /** Stream retention (both optional; the stricter wins). Entries a group still needs are never trimmed. */
  STREAM_RETENTION_MS: int(1_000, 10 * 365 * 86_400_000).default(7 * 86_400_000),
  STREAM_RETENTION_MAX_LEN: int(1, 1_000_000_000).optional(),
  STREAM_TRIM_INTERVAL_MS: int(100, 86_400_000).default(60_000),
  /** How long an idempotency key answers retries; purged after (by the relay role, every trim interval). */
  IDEMPOTENCY_KEY_TTL_HOURS: int(1, 24 * 365).default(24),
  /** How long the consumers' inbox remembers an event it handled; at least STREAM_RETENTION_MS. */
  INBOX_RETENTION_MS: int(60_000, 10 * 365 * 86_400_000).default(14 * 86_400_000),
  /**
   * Reconciliation of orphan reservations (by the inventory role): every interval, stock still held
   * past the grace period for an order inventory has not seen confirmed is checked with the orders module.
   */
  RECONCILE_INTERVAL_MS: int(100, 86_400_000).default(30_000),
  RECONCILE_GRACE_MS: int(100, 7 * 86_400_000).default(120_000),
  /** HS256 shared secret for bearer tokens (local use). Production needs this or AUTH_JWKS_URL. */
  AUTH_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** The identity provider's JWKS (RS/PS/ES/EdDSA keys): the production choice. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_ISSUER: z.string().min(1).default("order-gateway"),
  AUTH_AUDIENCE: z.string().min(1).default("order-gateway"),
  AUTH_CLOCK_TOLERANCE_S: int(0, 300).default(5),
  /**
   * Production only: run nothing but the operations in TRUSTED_DOCUMENTS_MANIFEST (written by `npm run codegen`).
   * Ignored outside production, so development and GraphiQL are unaffected.
   */
  TRUSTED_DOCUMENTS: bool.default(false),
  TRUSTED_DOCUMENTS_MANIFEST: z.string().min(1).default("src/dashboard/generated/persisted-documents.json"),
  /** Schema introspection; on by default except in production. */
  GRAPHQL_INTROSPECTION: bool.optional(),
  GRAPHQL_MAX_DEPTH: int(2, 100).default(10),
  GRAPHQL_MAX_ALIASES: int(1, 1000).default(15),
  GRAPHQL_MAX_DIRECTIVES: int(1, 1000).default(10),
  GRAPHQL_MAX_TOKENS: int(100, 100_000).default(2_000),
  GRAPHQL_MAX_COST: int(100, 1_000_000).default(5_000),
  /** Largest accepted request body; bigger is 413, a POST without Content-Length 411. */
  HTTP_MAX_BODY_BYTES: int(1_024, 10 * 1024 * 1024).default(64 * 1024),
  /** Connections the kernel may queue before the api accepts them (capped by net.core.somaxconn). */
  HTTP_LISTEN_BACKLOG: int(1, 65_535).default(4_096),
  /** Browser origins allowed by CORS: a comma list, or * for any. Default: any in development, none in production. */
  CORS_ORIGINS: z.string().optional(),
  /** Mutations per client (token subject, else IP) per window; 0 = no limit. */
  RATE_LIMIT_MUTATIONS: int(0, 1_000_000_000).default(120),
  RATE_LIMIT_WINDOW_MS: int(1_000, 3_600_000).default(60_000),
});

export type Config = Omit<z.output<typeof envSchema>, "HOST"> & {
  HOST: string;
  logPretty: boolean;
  graphiql: boolean;
  introspection: boolean;
  auth: AuthSettings;
  /** True when no secret was configured and the well-known development secret is in use. */
  authUsesDevSecret: boolean;
  /** null: same-origin only; "*": any origin. */
  corsOrigins: string[] | "*" | null;
  /** The allow-list manifest when only trusted documents run (production with TRUSTED_DOCUMENTS), else null. */
  trustedDocumentsManifest: string | null;
};

/** Signs and verifies tokens when nothing else is configured outside production. Never secret. */
export const DEV_JWT_SECRET = "order-gateway-development-secret-do-not-use-in-production";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; every problem is listed by variable name so a bad deploy explains itself. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(stripEmpty(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const c = parsed.data;
  if (c.SUBSCRIBER_BUFFER < c.HUB_READ_COUNT) {
    // The hub hands a whole read batch to a subscriber at once; a smaller buffer would cut off fast clients.
    throw new ConfigError("Invalid configuration:\n  SUBSCRIBER_BUFFER: must be at least HUB_READ_COUNT");
  }
  if (c.INBOX_RETENTION_MS < c.STREAM_RETENTION_MS) {
    // An event still in the stream can reach a group again (a rewind): its inbox row must still be there.
    throw new ConfigError("Invalid configuration:\n  INBOX_RETENTION_MS: must be at least STREAM_RETENTION_MS");
  }
  if (c.CONSUMER_RETRY_MAX_MS >= c.CONSUMER_CLAIM_IDLE_MS) {
    // A consumer waiting out a backoff must not look dead to the others.
    throw new ConfigError("Invalid configuration:\n  CONSUMER_RETRY_MAX_MS: must be below CONSUMER_CLAIM_IDLE_MS");
  }
  if (c.AUTH_JWT_SECRET && c.AUTH_JWKS_URL) {
    throw new ConfigError("Invalid configuration:\n  AUTH_JWT_SECRET, AUTH_JWKS_URL: set one, not both");
  }
  const production = c.NODE_ENV === "production";
  if (production && c.ROLES.includes("api") && !c.AUTH_JWT_SECRET && !c.AUTH_JWKS_URL) {
    throw new ConfigError("Invalid configuration:\n  AUTH_JWT_SECRET or AUTH_JWKS_URL: required in production");
  }
  const authUsesDevSecret = !c.AUTH_JWT_SECRET && !c.AUTH_JWKS_URL;
  const trustedOnly = production && c.TRUSTED_DOCUMENTS;
  if (trustedOnly && c.GRAPHIQL) {
    throw new ConfigError(
      "Invalid configuration:\n  GRAPHIQL, TRUSTED_DOCUMENTS: GraphiQL sends documents of its own, which trusted documents refuse; enable one",
    );
  }
  return {
    ...c,
    auth: {
      secret: c.AUTH_JWKS_URL ? undefined : (c.AUTH_JWT_SECRET ?? DEV_JWT_SECRET),
      jwksUrl: c.AUTH_JWKS_URL,
      issuer: c.AUTH_ISSUER,
      audience: c.AUTH_AUDIENCE,
      clockToleranceS: c.AUTH_CLOCK_TOLERANCE_S,
    },
    authUsesDevSecret,
    HOST: c.HOST ?? (production ? "0.0.0.0" : "127.0.0.1"),
    introspection: c.GRAPHQL_INTROSPECTION ?? !production,
    corsOrigins: parseOrigins(c.CORS_ORIGINS, production),
    logPretty: c.LOG_PRETTY ?? (c.NODE_ENV === "development" && process.stdout.isTTY === true),
    graphiql: c.GRAPHIQL ?? c.NODE_ENV !== "production",
    trustedDocumentsManifest: trustedOnly ? c.TRUSTED_DOCUMENTS_MANIFEST : null,
  };
}

function parseOrigins(raw: string | undefined, production: boolean): string[] | "*" | null {
  if (raw === undefined) return production ? null : "*";
  const origins = raw
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.includes("*")) return "*";
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin)
      throw new ConfigError(
        `Invalid configuration:\n  CORS_ORIGINS: "${origin}" is not an origin such as https://shop.example.com`,
      );
  }
  return origins.length ? origins : null;
}

/** `FOO=` in a shell or compose file means "use the default", not "the empty string". */
function stripEmpty(env: Record<string, string | undefined>) {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
}
