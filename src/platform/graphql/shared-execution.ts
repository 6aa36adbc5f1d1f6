import type { Plugin } from "graphql-yoga";
import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { Context } from "./context.ts";
import { isAdmin } from "../auth/principal.ts";

/**
 * Subscribers of the same operation get the same event object from the live hub; GraphQL would
 * still run the selection set once per subscriber. Here the result is computed once per event and
 * shared by every subscriber with the same document, variables and audience — 20,000 dashboards on
 * one query cost one execution per event instead of 20,000.
 *
 * The audience is part of the key because results may depend on who asks (type-level auth scopes):
 * admins share with admins, a customer only with itself. Events that are not shared objects
 * (snapshots loaded per subscriber, failures) simply miss the cache.
 */
type PerEvent = Map<DocumentNode, Map<string, Promise<ExecutionResult>>>;

export function useSharedSubscriptionExecution(): Plugin<Context> {
  const results = new WeakMap<object, PerEvent>();

  /** `key`: what, besides the document, the result depends on (computed once per subscription). */
  const executeShared = (args: ExecutionArgs, key: string, payload: unknown): Promise<ExecutionResult> => {
    const run = () =>
      Promise.resolve(execute({ ...args, rootValue: payload }) as ExecutionResult | Promise<ExecutionResult>);
    if (typeof payload !== "object" || payload === null) return run();
    let byDocument = results.get(payload);
    if (!byDocument) results.set(payload, (byDocument = new Map()));
    let byKey = byDocument.get(args.document);
    if (!byKey) byDocument.set(args.document, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = run()));
    return result;
  };

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in source)) return source; // an error result: nothing to stream
        const key = `${args.operationName ?? ""}\0${JSON.stringify(args.variableValues ?? {})}\0${audienceOf(args.contextValue as Context)}`;
        return mapEvents(source as AsyncGenerator<unknown>, (payload) => executeShared(args, key, payload));
      });
    },
  };
}

function audienceOf(ctx: Context | undefined): string {
  const viewer = ctx?.viewer ?? null;
  if (!viewer) return "anonymous";
  return isAdmin(viewer) ? "admin" : `customer:${viewer.customerId}`;
}

/**
 * Maps a source stream. Not an async generator on purpose: a generator suspended in `await next()`
 * would run return() only after the next event arrives, keeping a quiet unsubscribed client
 * registered in the hub; this return() reaches the source at once.
 */
function mapEvents<T, R>(source: AsyncGenerator<T>, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const mapped: AsyncGenerator<R> = {
    async next() {
      const item = await source.next();
      return item.done ? { done: true, value: undefined } : { done: false, value: await fn(item.value) };
    },
    async return() {
      await source.return?.(undefined);
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await source.return?.(undefined);
      throw err;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}
