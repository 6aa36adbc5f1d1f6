/**
 * Client helpers that never miss an event: they remember the cursor of the last event received
 * and, after any interruption (network, server restart, being cut off as a slow subscriber),
 * subscribe again with `after: <that cursor>`. The server replays what was missed, then goes live.
 *
 * Browser- and Node-friendly (no Node imports). The query must declare `$after: String` and pass
 * it to the subscription field, e.g.
 *   subscription($after: String) { orderEvents(customerId: "c1", after: $after) { cursor … } }
 */
import type { Client } from "graphql-ws";

export interface GraphQLResult<T> {
  data?: T | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

export interface ResumingOptions<T> {
  query: string;
  variables?: Record<string, unknown>;
  /** Resume point to start from (e.g. stored by the app); null/undefined = live from now. */
  after?: string | null;
  /** Where the cursor is in one result, e.g. `(d) => d.orderEvents.cursor`. */
  cursorOf: (data: T) => string | null | undefined;
  onData: (data: T, cursor: string | null) => void;
  /** Errors that resubscribing cannot fix (bad arguments, forbidden, cursor too old). */
  onError?: (errors: unknown) => void;
  /** Called whenever the helper (re)subscribes, with the cursor it resumes from. */
  onResubscribe?: (after: string | null) => void;
  retryDelayMs?: number;
}

export interface ResumingSubscription {
  /** The last cursor received: store it to resume across page loads. */
  readonly cursor: string | null;
  dispose(): void;
}

/**
 * A retry delay between half and 1.5 times `base`: after a deploy closes every socket (1012) the
 * clients come back spread out rather than all in the same millisecond.
 */
export function jittered(base: number): number {
  return base * (0.5 + Math.random());
}

/** Error codes after which subscribing again from the last cursor is the right move. */
const RESUMABLE = new Set(["SLOW_SUBSCRIBER", "SERVICE_UNAVAILABLE"]);

/** graphql-ws: reconnection is the client's (retryAttempts); this keeps `after` current. */
export function subscribeResuming<T>(client: Client, o: ResumingOptions<T>): ResumingSubscription {
  let cursor = o.after ?? null;
  let disposed = false;
  let stop: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const start = () => {
    if (disposed) return;
    let resume = false;
    // graphql-ws sends this same payload object again after a reconnect, so updating its
    // `after` in place makes automatic resubscriptions resume from the latest cursor too.
    const payload = { query: o.query, variables: { ...o.variables, after: cursor } };
    o.onResubscribe?.(cursor);
    stop = client.subscribe<T>(payload, {
      next: (result: GraphQLResult<T>) => {
        const code = result.errors?.[0]?.extensions?.code;
        if (result.errors?.length) {
          if (typeof code === "string" && RESUMABLE.has(code)) resume = true;
          else o.onError?.(result.errors);
          return;
        }
        if (!result.data) return;
        const next = o.cursorOf(result.data);
        if (next) cursor = payload.variables.after = next;
        o.onData(result.data, cursor);
      },
      error: () => schedule(), // the client gave up reconnecting, or the server refused: try again later
      complete: () => {
        if (resume) schedule();
      },
    });
  };
  const schedule = () => {
    if (disposed) return;
    clearTimeout(timer);
    timer = setTimeout(start, jittered(o.retryDelayMs ?? 500));
  };

  start();
  return {
    get cursor() {
      return cursor;
    },
    dispose() {
      disposed = true;
      clearTimeout(timer);
      stop?.();
    },
  };
}

export interface SseResumingOptions<T> extends ResumingOptions<T> {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  headers?: Record<string, string>;
}

/** The same over SSE (one HTTP request per subscription): reconnects with `after` when the stream ends. */
export function subscribeResumingSse<T>(o: SseResumingOptions<T>): ResumingSubscription {
  let cursor = o.after ?? null;
  let disposed = false;
  const abort = new AbortController();

  const run = async () => {
    while (!disposed) {
      let resume = true;
      try {
        o.onResubscribe?.(cursor);
        const res = await fetch(o.url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "text/event-stream", ...o.headers },
          body: JSON.stringify({ query: o.query, variables: { ...o.variables, after: cursor } }),
          signal: abort.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        for await (const result of sseResults<T>(res.body)) {
          const code = result.errors?.[0]?.extensions?.code;
          if (result.errors?.length) {
            if (!(typeof code === "string" && RESUMABLE.has(code))) {
              resume = false;
              o.onError?.(result.errors);
            }
            continue;
          }
          if (!result.data) continue;
          const next = o.cursorOf(result.data);
          if (next) cursor = next;
          o.onData(result.data, cursor);
        }
      } catch {
        // network error or server gone: retry below
      }
      if (!resume || disposed) return;
      await new Promise((r) => setTimeout(r, jittered(o.retryDelayMs ?? 500)));
    }
  };
  void run();
  return {
    get cursor() {
      return cursor;
    },
    dispose() {
      disposed = true;
      abort.abort();
    },
  };
}

/** Parses `event: next` messages of a GraphQL-over-SSE response body. */
async function* sseResults<T>(body: ReadableStream<Uint8Array>): AsyncGenerator<GraphQLResult<T>> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split("\n");
      const event = lines
        .find((l) => l.startsWith("event:"))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trim())
        .join("\n");
      if (event === "complete") return;
      if ((event === "next" || event === undefined) && data) yield JSON.parse(data) as GraphQLResult<T>;
    }
  }
}
