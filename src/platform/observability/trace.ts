import { randomFillSync } from "node:crypto";

/** W3C Trace Context (https://www.w3.org/TR/trace-context/): `00-<trace-id>-<parent-id>-<flags>`. */
export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(header: string | null | undefined): TraceContext | undefined {
  const m = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  // Version ff is forbidden, all-zero ids are invalid: start a new trace rather than propagate garbage.
  if (version === "ff" || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? "01" : "00"}`;
}

/** Continues the caller's trace with a new span of ours, or starts a trace when there is none. */
export function continueTrace(parent?: TraceContext | string | null): TraceContext {
  const p = typeof parent === "string" || parent == null ? parseTraceparent(parent) : parent;
  return {
    traceId: p?.traceId ?? randomHex(16),
    spanId: randomHex(8),
    sampled: p?.sampled ?? true,
  };
}

// Ids are cut from a pool of CSPRNG bytes refilled 4 KiB at a time: one randomFillSync per ~170
// spans instead of one or two per span (a measurable share of a request's CPU on small VMs).
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString("hex", used, used + bytes);
  used += bytes;
  // All-zero ids are invalid (W3C); 2^-64 at worst, but cheap to rule out.
  return /^0+$/.test(hex) ? randomHex(bytes) : hex;
}
