import type { Plugin } from "graphql-yoga";
import {
  GraphQLError,
  Kind,
  getOperationAST,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type DocumentNode,
} from "graphql";
import type { Redis } from "ioredis";
import type { Context } from "./context.ts";

export interface RateLimitSettings {
  redis: Redis;
  keyPrefix: string;
  /** Mutations per client per window; 0 turns the limit off. */
  limit: number;
  windowMs: number;
  /** Longest a mutation waits for the limiter's Redis before it goes through unlimited (fail open). */
  timeoutMs?: number;
  /** Called each time the limiter fails open (a metric). */
  onFailOpen?: () => void;
}

/** Default bound on the limiter's Redis round trip. */
export const RATE_LIMIT_REDIS_TIMEOUT_MS = 250;

/** Fixed window: which window `now` falls in, and how long until the next one starts. */
export function fixedWindow(now: number, windowMs: number) {
  const index = Math.floor(now / windowMs);
  return { index, resetInMs: (index + 1) * windowMs - now };
}

/**
 * How many root mutation fields the operation will execute: named and inline fragments expanded the
 * way graphql-js collects fields (each fragment once per operation), one per response key (fields
 * with the same alias merge into one execution), `__typename` free. Directives are ignored, so a
 * field under `@skip(if: true)` still counts: it can only cost the caller, never bypass the limit.
 */
export function mutationFieldCount(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const keys = new Set<string>();
  const visited = new Set<string>();
  const walk = (selections: OperationDefinitionNode["selectionSet"]["selections"]) => {
    for (const s of selections) {
      if (s.kind === Kind.FIELD) {
        if (!s.name.value.startsWith("__")) keys.add(s.alias?.value ?? s.name.value);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        walk(s.selectionSet.selections);
      } else if (!visited.has(s.name.value)) {
        visited.add(s.name.value);
        const fragment = fragments.get(s.name.value);
        if (fragment) walk(fragment.selectionSet.selections);
      }
    }
  };
  walk(operation.selectionSet.selections);
  return keys.size;
}

/**
 * Per-client limit on mutations (client = token subject, else the remote address), counted in Redis
 * so every api replica shares it. Over the limit: a RATE_LIMITED error with `retryAfterMs` and HTTP
 * 429 + Retry-After, and nothing executes. If Redis cannot answer, the request goes through:
 * mutations depend on Postgres, not on the limiter, and an outage of one must not stop orders.
 */
export function useMutationRateLimit(settings: RateLimitSettings): Plugin<Context> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      if (settings.limit <= 0) return;
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "mutation") return;
      const ctx = args.contextValue as Context;
      const cost = Math.max(1, mutationFieldCount(args.document, operation));
      const window = fixedWindow(Date.now(), settings.windowMs);
      const key = `${settings.keyPrefix}:${ctx.clientKey}:${window.index}`;
      let count: number;
      let timer: NodeJS.Timeout | undefined;
      try {
        // The shared connection queues commands while reconnecting (other parts want that): the
        // limiter does not wait for it.
        if (settings.redis.status !== "ready") throw new Error(`redis connection ${settings.redis.status}`);
        const timeoutMs = settings.timeoutMs ?? RATE_LIMIT_REDIS_TIMEOUT_MS;
        const replies = await Promise.race([
          settings.redis.multi().incrby(key, cost).pexpire(key, settings.windowMs).exec(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer from redis within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        count = Number(replies?.[0]?.[1] ?? 0);
      } catch (err) {
        settings.onFailOpen?.();
        ctx.log.warn({ err }, "rate limiter unavailable; request allowed");
        return;
      } finally {
        clearTimeout(timer);
      }
      if (count <= settings.limit) return;
      ctx.log.warn({ client: ctx.clientKey, count, limit: settings.limit }, "rate limited");
      const retryAfterMs = window.resetInMs;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(
            `too many mutations: at most ${settings.limit} per ${settings.windowMs / 1000} s; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
            {
              extensions: {
                code: "RATE_LIMITED",
                retryAfterMs,
                http: { status: 429, headers: { "retry-after": String(Math.ceil(retryAfterMs / 1000)) } },
              },
            },
          ),
        ],
      });
    },
  };
}
