import type { EventRegistry } from "../../events/registry.ts";
import { appendToOutbox } from "../../outbox/enqueue.ts";
import type { InTransaction, Message, Middleware } from "../message.ts";

/** Appends the events the handler emitted to the outbox, in the handler's transaction. */
export function outbox<M extends InTransaction<Message>>(streams: Pick<EventRegistry, "streamOf">): Middleware<M> {
  return (next) => async (msg) => {
    const outcome = await next(msg);
    if (msg.emitted) await appendToOutbox(msg.tx, streams, msg.emitted);
    return outcome;
  };
}
