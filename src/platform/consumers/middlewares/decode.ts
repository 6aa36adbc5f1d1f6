import { EnvelopeError } from "../../events/envelope.ts";
import type { EnvelopeOf, EventRegistry, EventSpecs } from "../../events/registry.ts";
import type { Decoded, Message, Middleware } from "../message.ts";

export interface DecodeOptions<S extends EventSpecs> {
  /** Every event type the running modules declared. */
  registry: Pick<EventRegistry, "has" | "parseJson">;
  /** The consumer's own contract: what its handlers are given is validated against it, so it is typed by it. */
  contract: Pick<EventRegistry<S>, "parseJson">;
  /** The event types the consumer has a handler for. */
  handles: (type: string) => boolean;
}

/**
 * Validates the entry's envelope (EnvelopeError, with the reason it can never be processed, when it
 * is not valid). Another module's event on a stream the group reads is `skipped` without parsing
 * (the type field beside the JSON says what it is).
 */
export function decode<S extends EventSpecs>(o: DecodeOptions<S>): Middleware<Message, Decoded<EnvelopeOf<S>>> {
  return (next) => async (msg) => {
    const { type, json } = msg.entry;
    if (!o.handles(type)) {
      if (o.registry.has(type)) return "skipped";
      // Throws why it can never be processed (not an envelope, unknown type); else it is another type's envelope.
      throw mismatch(type, o.registry.parseJson(json).eventType);
    }
    const envelope = o.contract.parseJson(json);
    // The type field routes the entry; the envelope must agree, or a handler would get another type's payload.
    if (envelope.eventType !== type) throw mismatch(type, envelope.eventType);
    return next(Object.assign(msg, { envelope }));
  };
}

const mismatch = (field: string, envelope: string) =>
  new EnvelopeError("invalid-envelope", `the entry's type is "${field}" but its envelope's is "${envelope}"`);
