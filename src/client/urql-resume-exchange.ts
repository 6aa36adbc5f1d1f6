/**
 * urql: subscriptions over graphql-ws that resume from their last cursor after a reconnect, a server restart or a
 * slow-subscriber cut-off (README: Resuming with urql). The resuming is resume-core.ts, shared with the other helpers.
 */
import { subscriptionExchange, type Exchange } from "@urql/core";
import type { Client } from "graphql-ws";
import { resumeOverWs, type ResumeOptions } from "./resume-core.ts";

export function resumingSubscriptionExchange(
  client: Client,
  options: Omit<ResumeOptions<unknown>, "after"> = {},
): Exchange {
  return subscriptionExchange({
    forwardSubscription: (request) => ({
      subscribe: (sink) => {
        const handle = resumeOverWs(client, { ...request, query: request.query ?? "" }, sink, options);
        return { unsubscribe: () => handle.dispose() };
      },
    }),
  });
}
