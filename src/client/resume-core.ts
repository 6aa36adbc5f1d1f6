/**
 * The one resume core behind every client helper here (graphql-ws, SSE, the urql exchange, the Apollo link): remember
 * the cursor of the last event received and, after any interruption (network, server restart, being cut off as a slow
 * subscriber), subscribe again with `after: <that cursor>`. The server replays what was missed, then goes live.
 *
 * Browser- and Node-friendly (no Node imports). The subscription must declare `$after: String` and pass it to the
 * field, e.g. `subscription($after: String) { orderEvents(customerId: "c1", after: $after) { cursor … } }`.
 */
import type { Client } from "graphql-ws";
import type { DocumentTypeDecoration } from "@graphql-typed-document-node/core";

export interface GraphQLResult<T> {
  data?: T | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
  extensions?: Record<string, unknown>;
}

/** A document: query text, or a generated typed document (`npm run codegen`) that carries its result type. */
export type DocumentInput<T = unknown, V = Record<string, unknown>> =
  string | (DocumentTypeDecoration<T, V> & { toString(): string; __meta__?: { hash?: string } });

/** The request body fields of a document: its text and, for a generated document, its hash (trusted documents). */
export function requestOf(document: DocumentInput<unknown, never>): {
  query: string;
  extensions?: { persistedQuery: { version: 1; sha256Hash: string } };
} {
  const hash = typeof document === "string" ? undefined : document.__meta__?.hash;
  return {
    query: String(document),
    ...(hash ? { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } : {}),
  };
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

/**
 * What one result means: an event (`data`), a notice that the server ended the stream and a resubscription from the
 * last cursor continues it (`resume`), or errors resubscribing cannot fix (`fatal`: bad arguments, forbidden, cursor
 * too old).
 */
export function classify(result: GraphQLResult<unknown>): "data" | "resume" | "fatal" | "empty" {
  if (result.errors?.length) {
    const code = result.errors[0]?.extensions?.code;
    return typeof code === "string" && RESUMABLE.has(code) ? "resume" : "fatal";
  }
  return result.data ? "data" : "empty";
}

/** The default cursor of a result: its root field's `cursor` (orderEvents.cursor, stockLevel has none). */
export function rootCursor(data: unknown): string | null {
  const root = data && typeof data === "object" ? Object.values(data)[0] : undefined;
  const cursor = root && typeof root === "object" ? (root as { cursor?: unknown }).cursor : undefined;
  return typeof cursor === "string" ? cursor : null;
}

export interface ResumeOptions<T> {
  /** Resume point to start from (e.g. stored by the app); null/undefined = the request's own `after`, else live. */
  after?: string | null;
  /** Where the cursor is in one result; by default the root field's `cursor`. */
  cursorOf?: (data: T) => string | null | undefined;
  /** Called whenever the helper (re)subscribes, with the cursor it resumes from. */
  onResubscribe?: (after: string | null) => void;
  retryDelayMs?: number;
}

export interface ResumeHandle {
  /** The last cursor received: store it to resume across page loads. */
  readonly cursor: string | null;
  dispose(): void;
}

export interface ResumeRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
  extensions?: Record<string, unknown> | null;
}

/** Where results go: events and unfixable errors (`next`), the end of a finished operation (`complete`). */
export interface ResumeSink<T> {
  next(result: GraphQLResult<T>): void;
  /** GraphQL errors the server refused the subscription with (validation, limits): resubscribing will not help. */
  error(errors: unknown): void;
  complete(): void;
}

/**
 * One graphql-ws subscription that never misses an event. graphql-ws reconnects by itself (its retryAttempts) and
 * sends the same payload object again, so keeping `payload.variables.after` current makes its automatic
 * resubscriptions resume from the latest cursor; a stream the server ends with a resumable notice, or a client that
 * gave up reconnecting, is resubscribed here after a jittered delay. Resumable notices never reach the sink.
 */
export function resumeOverWs<T>(
  client: Client,
  request: ResumeRequest,
  sink: ResumeSink<T>,
  o: ResumeOptions<T> = {},
): ResumeHandle {
  const cursorOf = o.cursorOf ?? rootCursor;
  let cursor = o.after ?? (request.variables?.after as string | null | undefined) ?? null;
  let disposed = false;
  let stop: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const start = () => {
    if (disposed) return;
    let resume = false;
    const payload = { ...request, variables: { ...request.variables, after: cursor } };
    o.onResubscribe?.(cursor);
    stop = client.subscribe<T>(payload, {
      next: (result: GraphQLResult<T>) => {
        const kind = classify(result);
        if (kind === "resume") resume = true;
        if (kind === "resume" || kind === "empty") return;
        if (kind === "data") {
          const next = cursorOf(result.data as T);
          if (next) cursor = payload.variables.after = next;
        }
        sink.next(result);
      },
      error: (err) => {
        // An array: the server refused this subscription (GraphQL errors). Anything else (a close event, a
        // network error): the client gave up reconnecting; try again later.
        if (Array.isArray(err)) {
          disposed = true;
          sink.error(err);
        } else schedule();
      },
      complete: () => {
        if (resume) schedule();
        else if (!disposed) sink.complete();
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
