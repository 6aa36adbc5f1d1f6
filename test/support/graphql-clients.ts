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

export interface GraphQLResponse<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; field?: string; issues?: unknown[] } }[];
}

export async function gql<T = Record<string, any>>(
  port: number,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T> & { status: number; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: withAuth({ "content-type": "application/json", accept: "application/graphql-response+json", ...headers }),
    body: JSON.stringify({ query, variables }),
  });
  return { ...((await res.json()) as GraphQLResponse<T>), status: res.status, headers: res.headers };
}

export function wsClient(port: number, connectionParams: Record<string, unknown> = { authorization: `Bearer ${ADMIN_TOKEN}` }): Client {
  return createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: false });
}

/** Collects the events of one graphql-ws subscription; `next(n)` waits until n have arrived. */
export function collect<T>(client: Client, query: string, variables?: Record<string, unknown>) {
  const received: GraphQLResponse<T>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let error: unknown;
  let completed = false;
  const dispose = client.subscribe<T>(
    { query, variables },
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
    until(n: number, timeoutMs = 10_000): Promise<GraphQLResponse<T>[]> {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${received.length} of ${n} events in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(received)) });
      });
    },
  };
}

/** A GraphQL subscription over SSE (Yoga's "distinct connections" mode), parsed event by event. */
export async function sse<T>(port: number, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
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
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (block.includes("event: next") || (!block.includes("event:") && data)) return JSON.parse(data);
          continue;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error("no SSE event in time");
        const chunk = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no SSE event in time")), remaining))]);
        if (chunk.done) throw new Error("SSE stream ended");
        buffer += chunk.value;
      }
    },
    close: () => controller.abort(),
  };
}
