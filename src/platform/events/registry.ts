import { z } from "zod";
import { v7 as uuidv7 } from "uuid";
import { EnvelopeError, envelopeSchema, type Envelope, type EventCause } from "./envelope.ts";
import { formatTraceparent } from "../observability/trace.ts";

/** A logical stream ("orders"); its Redis keys come from the StreamLayout. */
export type StreamName = string;

/**
 * What the platform needs to know of one event type, declared by the module that owns it: the
 * stream it travels on, its aggregate, the payload schema of every version still understood (the
 * highest is what producers write), and the routing keys live subscribers filter on.
 */
export interface EventSpec<P = unknown> {
  stream: StreamName;
  aggregateType: string;
  versions: { readonly [version: number]: z.ZodType<P> };
  routingKeys(aggregateId: string, payload: P): string[];
}

// `any`: a record of specs with different payload types; each spec keeps its own P through inference.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventSpecs = Record<string, EventSpec<any>>;

/** The payload a spec's schemas produce (its versions' outputs; producers write the latest). */
export type PayloadOfSpec<S> = S extends { versions: infer V } ? z.output<V[keyof V] & z.ZodType> : never;

/** The envelope of one type of `S` (or the union over `T`). */
export type EnvelopeOf<S extends EventSpecs, T extends keyof S & string = keyof S & string> = {
  [K in T]: Envelope<K, PayloadOfSpec<S[K]>>;
}[T];

/** Declares event specs with their payload types inferred (a module's contract). */
export const defineEvents = <S extends EventSpecs>(specs: S): S => specs;

/**
 * The catalog of every event type the running modules declared: validation on write and on read
 * (anything unknown is rejected on write and dead-lettered on read), the stream of each type, and
 * routing keys. Built once by the composition root from the module list and handed to the
 * platform's outbox, relay, consumers and live hub.
 */
export class EventRegistry<S extends EventSpecs = EventSpecs> {
  /** Every stream some event travels on, in declaration order. */
  readonly streams: readonly StreamName[];

  /** The version producers write for each type: its highest schema version. */
  private readonly latestVersion: ReadonlyMap<string, number>;

  constructor(readonly specs: S) {
    this.streams = [...new Set(Object.values(specs).map((s) => s.stream))];
    this.latestVersion = new Map(
      Object.entries(specs).map(([type, s]) => [type, Math.max(...Object.keys(s.versions).map(Number))]),
    );
  }

  /** Merges the specs of several modules; a type declared twice is a wiring mistake. */
  static merge(parts: readonly EventSpecs[]): EventRegistry {
    const all: EventSpecs = {};
    for (const part of parts) {
      for (const [type, spec] of Object.entries(part)) {
        if (Object.hasOwn(all, type)) throw new Error(`event type ${type} is declared by two modules`);
        all[type] = spec;
      }
    }
    return new EventRegistry(all);
  }

  has(type: string): type is keyof S & string {
    return Object.hasOwn(this.specs, type);
  }

  /** The event types on a stream. */
  typesOn(stream: StreamName): (keyof S & string)[] {
    return Object.keys(this.specs).filter((t) => this.specs[t]!.stream === stream);
  }

  streamOf(type: string): StreamName {
    const spec = this.specs[type];
    if (!spec) throw new EnvelopeError("unknown-event-type", `unknown event type "${type}"`);
    return spec.stream;
  }

  /** Every filter a live subscriber may set must be answerable from these keys. */
  routingKeys(e: Envelope): string[] {
    const spec = this.specs[e.eventType];
    return spec ? spec.routingKeys(e.aggregateId, e.payload) : [];
  }

  /** Validates an envelope from any source (outbox, stream, replay). Throws EnvelopeError with the reason. */
  parse(input: unknown): EnvelopeOf<S> {
    const base = envelopeSchema.safeParse(input);
    if (!base.success) throw new EnvelopeError("invalid-envelope", z.prettifyError(base.error));
    const { eventType, version, payload } = base.data;
    const spec = this.specs[eventType];
    if (!spec) throw new EnvelopeError("unknown-event-type", `unknown event type "${eventType}"`);
    const schema = spec.versions[version];
    if (!schema) throw new EnvelopeError("unknown-version", `${eventType} has no schema version ${version}`);
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new EnvelopeError("invalid-payload", `${eventType}: ${z.prettifyError(parsed.error)}`);
    return { ...base.data, payload: parsed.data } as EnvelopeOf<S>;
  }

  /** Parses the JSON of a stream entry or outbox row. */
  parseJson(json: string): EnvelopeOf<S> {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      throw new EnvelopeError("invalid-envelope", "envelope is not valid JSON");
    }
    return this.parse(raw);
  }

  /** A new, validated envelope at the type's latest version (UUID v7 id, so ids sort by creation time). */
  create<T extends keyof S & string>(
    eventType: T,
    aggregateId: string,
    payload: PayloadOfSpec<S[T]>,
    cause: EventCause,
    now: Date = new Date(),
  ): EnvelopeOf<S, T> {
    const spec = this.specs[eventType]!;
    const envelope = {
      eventId: uuidv7(),
      eventType,
      aggregateType: spec.aggregateType,
      aggregateId,
      version: this.latestVersion.get(eventType)!,
      occurredAt: now.toISOString(),
      traceparent: formatTraceparent(cause.trace),
      correlationId: cause.correlationId ?? aggregateId,
      causationId: cause.causationId ?? null,
      payload,
    };
    return this.parse(envelope) as EnvelopeOf<S, T>;
  }
}
