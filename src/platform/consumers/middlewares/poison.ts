import type { Logger } from "../../observability/logger.ts";
import { deadLetter } from "../dead-letters.ts";
import { Poisoned } from "../failure-policy.ts";
import { failureContext, type Message, type Middleware } from "../message.ts";

export interface PoisonOptions {
  group: string;
  /** This consumer's name, recorded on the dead letter. */
  consumer: string;
  log: Logger;
}

/**
 * Moves a delivery the failure policy gave up on ({@link Poisoned}) to the partition's dead-letter
 * stream with the reason, and acknowledges it in the same MULTI (dead-letters.ts): the group moves
 * on. Other errors pass through; so does a failure to dead-letter (the entry stays pending and is
 * delivered again).
 */
export function poison<M extends Message>({ group, consumer, log }: PoisonOptions): Middleware<M> {
  return (next) => async (msg) => {
    try {
      return await next(msg);
    } catch (err) {
      if (!(err instanceof Poisoned)) throw err;
      const { reason, error } = err;
      const id = await deadLetter(msg.source.redis, msg.source.key, msg.entry, {
        group,
        consumer,
        deliveries: msg.deliveries,
        reason,
        error: err.message,
      });
      msg.deadLetter = { reason, id };
      log.error({ ...failureContext(group, msg, error), reason, deadLetterId: id }, "event dead-lettered");
      return "dead-letter";
    }
  };
}
