import type { Plugin } from "graphql-yoga";
import {
  createCounter,
  createHistogram,
  usePrometheus,
  type FillLabelsFnParams,
} from "@graphql-yoga/plugin-prometheus";
import { context, SpanKind } from "@opentelemetry/api";
import { endEntrySpan, failSpan, registerEntrySpan, startSpan, type StartedSpan } from "./tracing.ts";
import type { TraceContext } from "./trace.ts";
import type { Metrics } from "./metrics.ts";

const httpSpans = new WeakMap<Request, StartedSpan>();

/**
 * The trace of a GraphQL operation's entry point: the HTTP request's server span (started by
 * useRequestSpans, continuing the `traceparent` header), or for a graphql-ws operation a span of its
 * own continuing the traceparent of connection_init / the upgrade request, ended by useRequestSpans
 * when the operation completes.
 */
export function entryTrace(request: Request | undefined, incoming: string | undefined): TraceContext {
  const http = request && httpSpans.get(request);
  if (http) return http.trace;
  if (request) return startSpan("POST /graphql", incoming, { kind: SpanKind.SERVER }).trace; // not seen by the request hook
  return registerEntrySpan(
    startSpan("graphql-ws operation", incoming, {
      kind: SpanKind.SERVER,
      attributes: { "network.protocol.name": "websocket" },
    }),
  );
}

/** One server span per GraphQL HTTP request, active (async context) while Yoga handles it. */
export function useRequestSpans(graphqlEndpoint = "/graphql"): Plugin<{ trace?: TraceContext }> {
  return {
    instrumentation: {
      request({ request }, wrapped) {
        const path = new URL(request.url, "http://localhost").pathname;
        if (path !== graphqlEndpoint) return wrapped();
        const s = startSpan(`${request.method} ${graphqlEndpoint}`, request.headers.get("traceparent"), {
          kind: SpanKind.SERVER,
          attributes: { "http.request.method": request.method, "url.path": path },
        });
        httpSpans.set(request, s);
        const done = (err?: unknown) => {
          if (err) failSpan(s.span, err);
          s.span.end();
        };
        try {
          const result = context.with(s.context, wrapped);
          if (result && typeof (result as Promise<void>).then === "function") {
            return (result as Promise<void>).then(
              () => done(),
              (err: unknown) => {
                done(err);
                throw err;
              },
            );
          }
          done();
          return result;
        } catch (err) {
          done(err);
          throw err;
        }
      },
    },
    onResponse({ request, response }) {
      const s = httpSpans.get(request);
      if (!s) return;
      s.span.setAttribute("http.response.status_code", response.status);
      if (response.status >= 500) s.span.setStatus({ code: 2 });
    },
    onExecute({ args }) {
      const trace = (args.contextValue as { trace?: TraceContext }).trace;
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in (result as object)) return;
          endEntrySpan(trace);
        },
      };
    },
    onSubscribe({ args }) {
      const trace = (args.contextValue as { trace?: TraceContext }).trace;
      return {
        onSubscribeResult: () => ({ onEnd: () => endEntrySpan(trace) }),
        onSubscribeError: ({ error }) => endEntrySpan(trace, error),
      };
    },
  };
}

/** Distinct operation names kept as label values; later new names are counted as "other". */
export const MAX_OPERATION_NAMES = 200;

/**
 * Operation names come from clients, so as label values they must be bounded: otherwise anyone can
 * grow the registry (and every scrape) without limit by sending new names.
 */
export function operationNameLabel(seen: Set<string>, name: string | undefined): string {
  if (!name) return "anonymous";
  if (seen.has(name)) return name;
  if (seen.size >= MAX_OPERATION_NAMES || name.length > 100) return "other";
  seen.add(name);
  return name;
}

/**
 * GraphQL metrics (Yoga's Prometheus plugin) into the process registry, served with every other
 * metric of the process at GET /metrics: operations, their duration and their errors by operation
 * name (bounded, see operationNameLabel) and type; HTTP request duration by method and status.
 */
export function useMetrics(metrics: Metrics, endpoint: string | false = "/metrics"): Plugin {
  const registry = metrics.registry;
  const seen = new Set<string>();
  const byOperation = (params: FillLabelsFnParams) => ({
    operationName: operationNameLabel(seen, params.operationName),
    operationType: params.operationType ?? "unknown",
  });
  const operationLabels = ["operationName", "operationType"] as const;
  return usePrometheus({
    registry,
    endpoint,
    skipIntrospection: true,
    metrics: {
      graphql_envelop_request: createCounter({
        registry,
        counter: {
          name: "graphql_envelop_request",
          help: "GraphQL operations executed (subscriptions count when they start).",
          labelNames: operationLabels,
        },
        fillLabelsFn: byOperation,
      }),
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: {
          name: "graphql_envelop_request_duration",
          help: "Duration of GraphQL operations, seconds (a subscription's: from start to end).",
          labelNames: operationLabels,
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        },
        fillLabelsFn: byOperation,
      }),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: {
          name: "graphql_envelop_error_result",
          help: "Errors in GraphQL results, by operation and the phase that produced them (parse, validate, context, execute, subscribe).",
          labelNames: [...operationLabels, "phase"],
        },
        fillLabelsFn: (params: FillLabelsFnParams & { errorPhase?: string }) => ({
          ...byOperation(params),
          phase: params.errorPhase ?? "unknown",
        }),
      }),
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: {
          name: "graphql_yoga_http_duration",
          help: "HTTP requests to the GraphQL endpoint, seconds.",
          labelNames: ["method", "statusCode", "operationType"],
        },
        fillLabelsFn: (
          params: FillLabelsFnParams,
          { request, response }: { request: Request; response: Response },
        ) => ({
          method: request.method,
          statusCode: response.status,
          operationType: params.operationType ?? "unknown",
        }),
      }),
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
    },
  });
}
