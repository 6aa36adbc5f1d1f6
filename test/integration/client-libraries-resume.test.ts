/**
 * The urql exchange and the Apollo link (src/client/) with the real @urql/core and @apollo/client over graphql-ws,
 * against a real api process that is SIGKILLed and started again while events keep coming: each client ends with
 * every event exactly once, in order. Without the resuming, graphql-ws would resubscribe with the first `after`
 * and the replay would repeat everything already received.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client as WsClient } from "graphql-ws";
import { Client as UrqlClient } from "@urql/core";
import { ApolloClient, InMemoryCache } from "@apollo/client";
import { parse } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { reconnectingWsClient, type DataOf, type VariablesOf } from "../support/graphql-clients.ts";
import { ORDER_EVENTS } from "../support/documents.ts";
import { delay, waitFor } from "../support/wait.ts";
import { publishOrders, steadyPublisher } from "../support/publisher.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { freePort } from "../support/private-redis.ts";
import { streamKey } from "../support/streams.ts";
import { resumingSubscriptionExchange } from "../../src/client/urql-resume-exchange.ts";
import { ResumingWsLink } from "../../src/client/apollo-resume-link.ts";

/** urql and Apollo take graphql-js documents: the generated text, parsed, keeping its generated types. */
const EVENTS = parse(String(ORDER_EVENTS)) as TypedDocumentNode<
  DataOf<typeof ORDER_EVENTS>,
  VariablesOf<typeof ORDER_EVENTS>
>;
const EVENTS_TOTAL = 1200;

let env: TestEnv;
let api: AppProcess | undefined;
const sockets: WsClient[] = [];

beforeAll(async () => {
  env = await createTestEnv("client-libraries", { seed: false });
});
afterAll(async () => {
  for (const socket of sockets) await socket.dispose();
  await api?.stop();
});

/** A reconnecting graphql-ws client, closed after the file. */
function reconnectingWs(port: number): WsClient {
  const client = reconnectingWsClient(port);
  sockets.push(client);
  return client;
}

describe("resuming in the clients people use", () => {
  it("urql and Apollo Client: the api is killed and restarted mid-stream, 0 events lost, 0 duplicated", async () => {
    const key = streamKey(env.config.STREAM_PREFIX, "orders");
    const port = await freePort();
    const up = () =>
      waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, {
        timeoutMs: 60_000,
        what: "api up",
      });
    api = spawnRole(env, "api", { PORT: String(port), LOG_LEVEL: "warn" });
    await up();
    const [start] = await publishOrders(env.redis, key, 1, "libs");

    const urqlReceived: string[] = [];
    const urqlErrors: unknown[] = [];
    const urql = new UrqlClient({
      url: `http://127.0.0.1:${port}/graphql`,
      exchanges: [resumingSubscriptionExchange(reconnectingWs(port))],
    });
    const urqlSub = urql.subscription(EVENTS, { customerId: "libs", after: start }).subscribe((result) => {
      if (result.error) urqlErrors.push(result.error);
      if (result.data) urqlReceived.push(result.data.orderEvents.cursor);
    });

    const apolloReceived: string[] = [];
    const apolloErrors: unknown[] = [];
    const apollo = new ApolloClient({ link: new ResumingWsLink(reconnectingWs(port)), cache: new InMemoryCache() });
    const apolloSub = apollo
      .subscribe({ query: EVENTS, variables: { customerId: "libs", after: start }, fetchPolicy: "no-cache" })
      .subscribe({
        next: (result) => {
          if (result.error) apolloErrors.push(result.error);
          if (result.data) apolloReceived.push(result.data.orderEvents.cursor);
        },
        error: (err) => apolloErrors.push(err),
      });

    const publisher = steadyPublisher(env.redis, key, EVENTS_TOTAL, { batch: 6, everyMs: 5, customerId: "libs" });
    await waitFor(() => urqlReceived.length > 200 && apolloReceived.length > 200, {
      timeoutMs: 30_000,
      what: "events before the crash",
    });
    await api.kill(); // SIGKILL: no goodbye to the clients
    const beforeRestart = { urql: urqlReceived.length, apollo: apolloReceived.length };
    api = spawnRole(env, "api", { PORT: String(port), LOG_LEVEL: "warn" });
    await up();
    await publisher.done;
    await waitFor(() => urqlReceived.length >= EVENTS_TOTAL && apolloReceived.length >= EVENTS_TOTAL, {
      timeoutMs: 60_000,
      what: `every event after the restart (urql ${urqlReceived.length}, apollo ${apolloReceived.length})`,
    });
    // Anything duplicated by a resubscription would arrive right behind the last event: give it the chance.
    await delay(500);
    expect(urqlErrors).toEqual([]);
    expect(apolloErrors).toEqual([]);
    expect(beforeRestart.urql).toBeLessThan(EVENTS_TOTAL);
    expect(beforeRestart.apollo).toBeLessThan(EVENTS_TOTAL);
    expect(urqlReceived).toEqual(publisher.cursors);
    expect(apolloReceived).toEqual(publisher.cursors);
    urqlSub.unsubscribe();
    apolloSub.unsubscribe();
    apollo.stop();
  }, 180_000);
});
