import type { Plugin } from "graphql-yoga";
import type { ExecutionResult } from "graphql";
import { formatTraceparent, type TraceContext } from "../observability/trace.ts";
import type { Context } from "./context.ts";
import { isExpectedError } from "./errors.ts";
import { isInfrastructureError } from "../shared/infrastructure-errors.ts";

/** Echoes our trace context back in a `traceparent` response header, so a client can find its logs. */
export function useTraceHeader(traceOf: (request: Request) => TraceContext | undefined): Plugin {
  return {
    onResponse({ request, response }) {
      const trace = traceOf(request);
      if (trace) response.headers.set("traceparent", formatTraceparent(trace));
    },
  };
}

/** Logs every operation once with its outcome, and every unexpected error in full (clients see it masked). */
export function useOperationLog(): Plugin<Context> {
  const report = (ctx: Context, op: string, started: number, result: ExecutionResult) => {
    const errors = result.errors ?? [];
    for (const err of errors) {
      if (isExpectedError(err)) continue;
      const cause = err.originalError ?? err;
      if (isInfrastructureError(cause)) ctx.log.warn({ err: cause, path: err.path }, "dependency unavailable");
      else ctx.log.error({ err: cause, path: err.path }, "internal error in resolver");
    }
    ctx.log.info(
      { operation: op, ms: Math.round(performance.now() - started), errors: errors.length },
      "graphql operation",
    );
  };
  return {
    onExecute({ args }) {
      const started = performance.now();
      const ctx = args.contextValue as Context;
      const op = args.operationName ?? "anonymous";
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in (result as object)) return;
          report(ctx, op, started, result as ExecutionResult);
        },
      };
    },
    onSubscribe({ args }) {
      const ctx = args.contextValue as Context;
      ctx.log.info({ operation: args.operationName ?? "anonymous" }, "subscription started");
      return {
        onSubscribeResult: () => ({
          onNext: ({ result }) => {
            for (const err of result.errors ?? [])
              if (!isExpectedError(err))
                ctx.log.error({ err: err.originalError ?? err }, "internal error in subscription");
          },
          onEnd: () => ctx.log.info({ operation: args.operationName ?? "anonymous" }, "subscription ended"),
        }),
        onSubscribeError: ({ error }) => {
          if (!isExpectedError(error)) ctx.log.error({ err: error }, "subscription failed");
        },
      };
    },
  };
}
