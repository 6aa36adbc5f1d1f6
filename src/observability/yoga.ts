import type { Plugin } from "graphql-yoga";
import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
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
  return registerEntrySpan(startSpan("graphql-ws operation", incoming, { kind: SpanKind.SERVER, attributes: { "network.protocol.name": "websocket" } }));
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

/**
 * GraphQL metrics (Yoga's Prometheus plugin) into the process registry, served with every other
 * metric of the process at GET /metrics: operation count, duration and errors by operation name
 * and type, phase durations, HTTP request duration.
 */
export function useMetrics(metrics: Metrics, endpoint = "/metrics"): Plugin {
  return usePrometheus({
    registry: metrics.registry,
    endpoint,
    skipIntrospection: true,
    labels: { operationName: true, operationType: true, phase: true, path: false, method: true, statusCode: true, url: false },
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: true,
      graphql_envelop_phase_validate: true,
      graphql_envelop_phase_context: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_envelop_error_result: true,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
      graphql_yoga_http_duration: true,
    },
  });
}
