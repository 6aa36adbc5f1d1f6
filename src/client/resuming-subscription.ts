/**
 * Client helpers that never miss an event, over graphql-ws and over SSE. The resuming itself (cursor tracking, which
 * errors mean "resubscribe", jittered retries) is resume-core.ts, shared with the urql exchange and the Apollo link.
 *
 * Browser- and Node-friendly (no Node imports). The query must declare `$after: String` and pass
 * it to the subscription field, e.g.
 *   subscription($after: String) { orderEvents(customerId: "c1", after: $after) { cursor … } }
 */
import type { Client } from "graphql-ws";
import {
  classify,
  jittered,
  requestOf,
  resumeOverWs,
  rootCursor,
  type DocumentInput,
  type GraphQLResult,
  type ResumeHandle,
} from "./resume-core.ts";

export { jittered, type GraphQLResult };

export interface ResumingOptions<T> {
  /** Text, or a generated typed document (the data type then follows from it). */
  query: DocumentInput<T, never>;
  variables?: Record<string, unknown>;
  /** Resume point to start from (e.g. stored by the app); null/undefined = live from now. */
  after?: string | null;
  /** Where the cursor is in one result, e.g. `(d) => d.orderEvents.cursor`; by default the root field's `cursor`. */
  cursorOf?: (data: T) => string | null | undefined;
  onData: (data: T, cursor: string | null) => void;
  /** Errors that resubscribing cannot fix (bad arguments, forbidden, cursor too old). */
  onError?: (errors: unknown) => void;
  /** Called whenever the helper (re)subscribes, with the cursor it resumes from. */
  onResubscribe?: (after: string | null) => void;
  retryDelayMs?: number;
}

export type ResumingSubscription = ResumeHandle;

/** graphql-ws: reconnection is the client's (retryAttempts); the core keeps `after` current. */
export function subscribeResuming<T>(client: Client, o: ResumingOptions<T>): ResumingSubscription {
  const handle: ResumeHandle = resumeOverWs<T>(
    client,
    { ...requestOf(o.query), variables: o.variables },
    {
      next: (result) => {
        if (result.errors?.length) o.onError?.(result.errors);
        else if (result.data) o.onData(result.data, handle.cursor);
      },
      error: (errors) => o.onError?.(errors),
      complete: () => {},
    },
    o,
  );
  return handle;
}

export interface SseResumingOptions<T> extends ResumingOptions<T> {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  headers?: Record<string, string>;
}

/** The same over SSE (one HTTP request per subscription): reconnects with `after` when the stream ends. */
export function subscribeResumingSse<T>(o: SseResumingOptions<T>): ResumingSubscription {
  const cursorOf = o.cursorOf ?? rootCursor;
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
          body: JSON.stringify({ ...requestOf(o.query), variables: { ...o.variables, after: cursor } }),
          signal: abort.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        for await (const result of sseResults<T>(res.body)) {
          const kind = classify(result);
          if (kind === "fatal") {
            resume = false;
            o.onError?.(result.errors);
          }
          if (kind !== "data") continue;
          const next = cursorOf(result.data as T);
          if (next) cursor = next;
          o.onData(result.data as T, cursor);
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
