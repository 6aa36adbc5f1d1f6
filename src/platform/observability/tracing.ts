import {
  context,
  propagation,
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { continueTrace, parseTraceparent, type TraceContext } from "./trace.ts";
import type { Logger } from "./logger.ts";

export { SpanKind };

/**
 * OpenTelemetry for the whole path request → outbox → relay → stream → consumers → subscriber.
 *
 * The API is always used: every hop starts a span as a child of the traceparent it received (the
 * HTTP header, or the one stored in the event envelope), so the W3C trace id — logged as `traceId`
 * and shown on subscription events — is the OTel trace id. The SDK (span export over OTLP/HTTP) is
 * only loaded when OTEL_EXPORTER_OTLP_ENDPOINT is set; without it spans are not recorded, but every
 * hop still gets its own span id (see startSpan), so the traceparent on emitted events is a real
 * child of the one that caused them.
 */

let propagationInstalled = false;
let sdk: { shutdown(): Promise<void> } | undefined;

/** W3C propagation; idempotent, no network. */
export function installContextPropagation(): void {
  if (propagationInstalled) return;
  propagationInstalled = true;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/**
 * Loads the OTel SDK and exports spans to `<endpoint>/v1/traces` when an endpoint is configured.
 * Returns a flush-and-shutdown function for graceful exit.
 */
export async function initTracing(opts: {
  endpoint?: string;
  serviceName: string;
  roles: readonly string[];
  log: Logger;
}): Promise<() => Promise<void>> {
  installContextPropagation();
  if (!opts.endpoint || sdk) return async () => {};
  // Loaded lazily: processes without an endpoint never import the SDK or the exporter.
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      "service.name": opts.serviceName,
      "service.instance.id": `${process.pid}`,
      "app.roles": opts.roles.join(","),
    }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, "")}/v1/traces` })),
    ],
  });
  // The async context (AsyncLocalStorage) only with the SDK: on Node 20 it hooks every promise of
  // the process, and without the SDK nothing reads it (every span gets its parent explicitly).
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  sdk = provider;
  opts.log.info({ endpoint: opts.endpoint, serviceName: opts.serviceName }, "exporting traces over OTLP");
  return async () => {
    await provider.shutdown().catch((err: unknown) => opts.log.warn({ err }, "flushing spans failed"));
    sdk = undefined;
  };
}

const tracer = () => trace.getTracer("order-gateway");

/** A span with its W3C ids (what goes on events and in logs) and the context to run its work in. */
export interface StartedSpan {
  span: Span;
  trace: TraceContext;
  context: Context;
}

/** The remote parent context of a traceparent (header value, envelope field or parsed). */
export function parentContext(parent?: string | TraceContext | null): Context {
  const p = typeof parent === "string" || parent == null ? parseTraceparent(parent) : parent;
  if (!p) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: p.traceId,
    spanId: p.spanId,
    traceFlags: p.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

/**
 * Starts a span as a child of `parent` (a new trace when there is none or it is invalid). Without
 * the SDK the API's no-op tracer would hand back the parent's own ids; we give the hop a fresh span
 * id instead, so trace ids behave the same with and without export.
 */
export function startSpan(
  name: string,
  parent: string | TraceContext | null | undefined,
  options: SpanOptions = {},
): StartedSpan {
  const parentCtx = parentContext(parent);
  let span = tracer().startSpan(name, options, parentCtx);
  if (!sdk) {
    const parentSpan = trace.getSpanContext(parentCtx);
    const own = continueTrace(
      parentSpan
        ? { traceId: parentSpan.traceId, spanId: parentSpan.spanId, sampled: (parentSpan.traceFlags & 1) === 1 }
        : undefined,
    );
    span = trace.wrapSpanContext({
      traceId: own.traceId,
      spanId: own.spanId,
      traceFlags: own.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    });
  }
  const sc = span.spanContext();
  return {
    span,
    trace: {
      traceId: sc.traceId,
      spanId: sc.spanId,
      sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED,
    },
    context: trace.setSpan(parentCtx, span),
  };
}

/** Runs `fn` inside a child span of `parent` (active in the async context), recording a failure on it. */
export async function inSpan<T>(
  name: string,
  parent: string | TraceContext | null | undefined,
  options: SpanOptions,
  fn: (s: StartedSpan) => Promise<T>,
): Promise<T> {
  const s = startSpan(name, parent, options);
  try {
    return await context.with(s.context, () => fn(s));
  } catch (err) {
    failSpan(s.span, err);
    throw err;
  } finally {
    s.span.end();
  }
}

/** Runs `fn` in an already started span (active in the async context) and ends it. */
export async function runInSpan<T>(s: StartedSpan, fn: () => Promise<T>): Promise<T> {
  try {
    return await context.with(s.context, fn);
  } catch (err) {
    failSpan(s.span, err);
    throw err;
  } finally {
    s.span.end();
  }
}

export function failSpan(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** A finished span for work that already happened (e.g. one event of a relay batch). */
export function recordSpan(
  name: string,
  parent: string | null | undefined,
  startTime: number,
  attributes: Attributes,
  kind = SpanKind.INTERNAL,
): void {
  if (!sdk) return; // nothing would record it
  startSpan(name, parent, { kind, startTime, attributes }).span.end();
}

/** Spans of entry points that end later than they start (WebSocket operations): keyed by the trace object on the context. */
const openEntrySpans = new WeakMap<TraceContext, Span>();

export function registerEntrySpan(s: StartedSpan): TraceContext {
  openEntrySpans.set(s.trace, s.span);
  return s.trace;
}

export function endEntrySpan(t: TraceContext | undefined, err?: unknown): void {
  const span = t && openEntrySpans.get(t);
  if (!span) return;
  openEntrySpans.delete(t!);
  if (err) failSpan(span, err);
  span.end();
}
