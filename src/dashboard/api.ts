/** GraphQL over HTTP (queries, mutations) and one graphql-ws client (every live panel shares it). */
import { createClient, type Client } from "graphql-ws";

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

  async gql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const res = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
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
}

export function isCloseEvent(e: unknown): e is CloseEvent {
  return typeof e === "object" && e !== null && "code" in e && "reason" in e;
}
