import WebSocket from "ws";
import { createClient, type Client } from "graphql-ws";
import { ADMIN_TOKEN } from "./auth.ts";

/**
 * Every helper sends the admin token unless told otherwise: pass `{ authorization: "Bearer …" }`
 * to act as someone else, or `{ authorization: "" }` (connection params: `{}`) for no token.
 */
const withAuth = (headers: Record<string, string>) => {
  const merged: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers };
  if (merged.authorization === "") delete merged.authorization;
  return merged;
};

declare const types: unique symbol;

/**
 * A GraphQL document: the query text, carrying the types of its result data and of its variables
 * (phantom types, nothing at run time). Made with `typed()`; `gql`, `gqlOk`, `collect` and `sse`
 * type their results and variables from it. A plain string works too: data is then untyped.
 */
export type TypedDocument<TData, TVariables = Record<string, never>> = string & {
  readonly [types]: { data: TData; variables: TVariables };
};

export const typed = <TData, TVariables = Record<string, never>>(source: string) =>
  source as TypedDocument<TData, TVariables>;

type UntypedData = Record<string, any>;
export type DataOf<D extends string> = D extends TypedDocument<infer TData, any> ? TData : UntypedData;
export type VariablesOf<D extends string> =
  D extends TypedDocument<any, infer TVariables> ? TVariables : Record<string, unknown>;

export interface GraphQLErrorShape {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; field?: string; issues?: unknown[]; [key: string]: unknown };
}

export interface GraphQLResponse<T = UntypedData> {
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

export type HttpResponse<T> = GraphQLResponse<T> & { status: number; headers: Headers };

/** POSTs one operation (as the admin unless `headers` says otherwise); the response may carry errors. */
export async function gql<D extends string>(
  port: number,
  document: D,
  variables?: VariablesOf<D>,
  headers: Record<string, string> = {},
): Promise<HttpResponse<DataOf<D>>> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: withAuth({ "content-type": "application/json", accept: "application/graphql-response+json", ...headers }),
    body: JSON.stringify({ query: document, variables }),
  });
  return { ...((await res.json()) as GraphQLResponse<DataOf<D>>), status: res.status, headers: res.headers };
}

/** `gql` for an operation that must succeed: its data, or an error naming the response's errors. */
export async function gqlOk<D extends string>(
  port: number,
  document: D,
  variables?: VariablesOf<D>,
  headers: Record<string, string> = {},
): Promise<DataOf<D>> {
  return dataOf(await gql(port, document, variables, headers));
}

/** The data of a response that must have succeeded; throws with the errors' messages (and codes) if it has errors or no data. */
export function dataOf<T>(res: GraphQLResponse<T>): T {
  if (res.errors?.length) {
    throw new Error(
      `GraphQL errors: ${res.errors.map((e) => `${e.message}${e.extensions?.code ? ` [${e.extensions.code}]` : ""}`).join("; ")}`,
    );
  }
  if (res.data === undefined || res.data === null) throw new Error("GraphQL response without data");
  return res.data;
}

/** The first error of a response that must have failed; throws (showing the data) if it has none. */
export function firstError(res: GraphQLResponse<unknown>): GraphQLErrorShape {
  const error = res.errors?.[0];
  if (!error) throw new Error(`expected a GraphQL error, got data ${JSON.stringify(res.data)}`);
  return error;
}

/** The code of a response's first error, if any. */
export const codeOf = (res: GraphQLResponse<unknown> | undefined) => res?.errors?.[0]?.extensions?.code;

export function wsClient(
  port: number,
  connectionParams: Record<string, unknown> = { authorization: `Bearer ${ADMIN_TOKEN}` },
): Client {
  return createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
  });
}

/** Collects the events of one graphql-ws subscription; `next(n)` waits until n have arrived. */
export function collect<D extends string>(client: Client, query: D, variables?: VariablesOf<D>) {
  type T = DataOf<D>;
  const received: GraphQLResponse<T>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let error: unknown;
  let completed = false;
  const dispose = client.subscribe<T>(
    { query, variables: variables as Record<string, unknown> | undefined },
    {
      next: (value) => {
        received.push(value as GraphQLResponse<T>);
        for (const w of waiters.filter((w) => received.length >= w.n)) w.resolve();
      },
      error: (err) => (error = err),
      complete: () => (completed = true),
    },
  );
  return {
    received,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    dispose,
    /** The data of every event so far; throws if one of them carried errors. */
    values(): T[] {
      return received.map((r) => dataOf(r));
    },
    /** The data of event number `i` (from 0); throws if it has not arrived or carried errors. */
    value(i: number): T {
      const r = received[i];
      if (!r) throw new Error(`event #${i} has not arrived (${received.length} so far)`);
      return dataOf(r);
    },
    until(n: number, timeoutMs = 10_000): Promise<GraphQLResponse<T>[]> {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`got ${received.length} of ${n} events in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(received)) });
      });
    },
  };
}

/** A GraphQL subscription over SSE (Yoga's "distinct connections" mode), parsed event by event. */
export async function sse<D extends string>(
  port: number,
  query: D,
  variables?: VariablesOf<D>,
  headers: Record<string, string> = {},
) {
  type T = DataOf<D>;
  const controller = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: withAuth({ "content-type": "application/json", accept: "text/event-stream", ...headers }),
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    /** The next `event: next` payload (skips keep-alive comments). */
    async next(timeoutMs = 10_000): Promise<GraphQLResponse<T>> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const split = buffer.indexOf("\n\n");
        if (split >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const data = block
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trim())
            .join("\n");
          if (block.includes("event: next") || (!block.includes("event:") && data)) return JSON.parse(data);
          continue;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error("no SSE event in time");
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no SSE event in time")), remaining)),
        ]);
        if (chunk.done) throw new Error("SSE stream ended");
        buffer += chunk.value;
      }
    },
    close: () => controller.abort(),
  };
}
