import type { Plugin } from "graphql-yoga";
import { GraphQLError } from "graphql";
import type { Context } from "./context.ts";

export interface SubscriptionCaps {
  /** Live subscriptions one client (principal, else remote address) may hold, WebSocket and SSE together. */
  perClient: number;
  /** Live subscriptions this process holds, every transport together. */
  perProcess: number;
}

/**
 * One count of open subscriptions per client and one per process, whatever the transport (graphql-ws
 * and SSE both subscribe through here). A slot is taken before the subscription is set up and given
 * back however it ends: refused, failed setup, completed, or returned by a client that went away.
 */
export function useSubscriptionCaps(caps: SubscriptionCaps): Plugin<Context> {
  const perClient = new Map<string, number>();
  let total = 0;
  const release = (client: string) => {
    total--;
    const left = (perClient.get(client) ?? 1) - 1;
    if (left <= 0) perClient.delete(client);
    else perClient.set(client, left);
  };
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const client = (args.contextValue as Context).clientKey;
      const held = perClient.get(client) ?? 0;
      const refusal =
        held >= caps.perClient
          ? `at most ${caps.perClient} live subscriptions per client`
          : total >= caps.perProcess
            ? "this server holds as many live subscriptions as it can; retry shortly or elsewhere"
            : null;
      if (refusal) {
        setResultAndStopExecution({ errors: [new GraphQLError(refusal, { extensions: { code: "LIMIT_EXCEEDED" } })] });
        return;
      }
      total++;
      perClient.set(client, held + 1);
      let released = false;
      const once = () => {
        if (released) return;
        released = true;
        release(client);
      };
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return once();
          setResult(releasingOnEnd(result, once));
        },
        onSubscribeError() {
          once();
        },
      };
    },
  };
}

function releasingOnEnd<T>(source: AsyncIterable<T>, release: () => void): AsyncGenerator<T> {
  const inner = source[Symbol.asyncIterator]();
  const wrapped: AsyncGenerator<T> = {
    [Symbol.asyncIterator]: () => wrapped,
    async next() {
      try {
        const step = await inner.next();
        if (step.done) release();
        return step;
      } catch (err) {
        release();
        throw err;
      }
    },
    async return(value) {
      release();
      return inner.return ? await inner.return(value) : { done: true, value };
    },
    async throw(err) {
      release();
      if (inner.throw) return inner.throw(err);
      throw err;
    },
  };
  return wrapped;
}
