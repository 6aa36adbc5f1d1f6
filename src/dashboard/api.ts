/** GraphQL over HTTP (queries, mutations) and one graphql-ws client (every live panel shares it). */
import { createClient, type Client, type Sink } from "graphql-ws";
import type { TypedDocumentString } from "./generated/graphql.ts";
import { requestOf, type GraphQLResult } from "../client/resume-core.ts";

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class Api {
  readonly ws: Client;

  constructor(readonly token: string) {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
    this.ws = createClient({
      url,
      lazy: false,
      connectionParams: () => ({ authorization: `Bearer ${this.token}` }),
      keepAlive: 10_000,
      retryAttempts: Number.POSITIVE_INFINITY,
      // Back soon after a restart: 0.3 s, 0.6 s, … at most 2 s between attempts.
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(300 * 2 ** retries, 2_000))),
      // A rejected token (4401/4403) will not get better by retrying; everything else (restarts,
      // network) is retried, and the subscriptions resume from their cursors.
      shouldRetry: (event) =>
        !(isCloseEvent(event) && (event.code === 4401 || event.code === 4403 || event.code === 4400)),
      onNonLazyError: () => {},
    });
  }

  /**
   * One query or mutation over HTTP. Generated documents (src/dashboard/generated/) carry their hash: it is sent
   * beside the text, so an api that accepts only trusted documents runs it (README: Trusted documents).
   */
  async gql<T, V>(document: TypedDocumentString<T, V>, ...[variables]: OptionalVariables<V>): Promise<T> {
    const res = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ ...requestOf(document), variables }),
    });
    const body = (await res.json().catch(() => ({}))) as {
      data?: T;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
    if (body.errors?.length)
      throw new GraphQLRequestError(body.errors.map((e) => e.message).join("; "), body.errors[0]!.extensions?.code);
    if (!res.ok || !body.data) throw new GraphQLRequestError(`HTTP ${res.status}`);
    return body.data;
  }

  /** One graphql-ws subscription (graphql-ws subscribes again after a reconnect). */
  subscribe<T, V>(document: TypedDocumentString<T, V>, variables: V, sink: Sink<GraphQLResult<T>>): () => void {
    return this.ws.subscribe<T>({ ...requestOf(document), variables: variables as Record<string, unknown> }, sink);
  }
}

/** No variables argument for a document without variables. */
type OptionalVariables<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

export function isCloseEvent(e: unknown): e is CloseEvent {
  return typeof e === "object" && e !== null && "code" in e && "reason" in e;
}
