import { describe, expect, it } from "vitest";
import { chain, failureContext, type Message, type Middleware } from "../../../src/platform/consumers/message.ts";
import { entryOf, messageOf, pinged } from "../../support/consumer-messages.ts";

describe("middleware chain", () => {
  it("runs middlewares outermost first, the way they were added, around the handler", async () => {
    const order: string[] = [];
    const step =
      (name: string): Middleware<Message> =>
      (next) =>
      async (msg) => {
        order.push(`${name} in`);
        const outcome = await next(msg);
        order.push(`${name} out`);
        return outcome;
      };
    const handle = chain<Message>()
      .use(step("a"))
      .use(step("b"))
      .handle(async () => {
        order.push("handler");
        return "handled";
      });
    expect(await handle(messageOf(entryOf(pinged())))).toBe("handled");
    expect(order).toEqual(["a in", "b in", "handler", "b out", "a out"]);
  });

  it("describes a failed delivery for the logs, with the event's trace id once it is decoded", () => {
    const event = pinged();
    const msg = messageOf(entryOf(event), 3);
    const err = new Error("x");
    expect(failureContext("pinger", msg, err)).toEqual({
      err,
      traceId: undefined,
      group: "pinger",
      stream: "pings",
      key: "test:pings",
      entryId: "1-0",
      eventType: "Pinged",
      deliveries: 3,
    });
    msg.envelope = event;
    expect(failureContext("pinger", msg, err).traceId).toBe(event.traceparent.split("-")[1]);
  });
});
