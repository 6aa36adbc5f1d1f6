import { beforeAll, describe, expect, it } from "vitest";
import { poison } from "../../../src/platform/consumers/middlewares/poison.ts";
import { Poisoned } from "../../../src/platform/consumers/failure-policy.ts";
import type { Message, Source } from "../../../src/platform/consumers/message.ts";
import { decodeEntry, encodeEntryFields } from "../../../src/platform/events/stream-entry.ts";
import { dlqOf } from "../../../src/platform/events/partitions.ts";
import { createTestEnv, type TestEnv } from "../../support/test-env.ts";
import { capturingLogger, pinged, pings } from "../../support/consumer-messages.ts";

let env: TestEnv;
let source: Source;
const GROUP = "pinger";

beforeAll(async () => {
  env = await createTestEnv("mw-poison", { seed: false });
  source = { stream: "pings", key: `${env.config.STREAM_PREFIX}:pings`, redis: env.redis };
  await env.redis.xgroup("CREATE", source.key, GROUP, "0", "MKSTREAM");
});

/** Publishes an entry and delivers it to the group (pending until acknowledged). */
async function delivered(deliveries = 1): Promise<Message> {
  const e = pinged();
  await env.redis.xadd(source.key, "*", ...encodeEntryFields(e, pings.routingKeys(e)));
  const reply = (await env.redis.xreadgroup("GROUP", GROUP, "c1", "COUNT", 1, "STREAMS", source.key, ">")) as [
    string,
    [string, string[]][],
  ][];
  const [id, fields] = reply[0]![1][0]!;
  return { source, entry: decodeEntry(id, fields), deliveries, envelope: e };
}

const pending = async () => ((await env.redis.xpending(source.key, GROUP)) as [number])[0];

describe("poison middleware", () => {
  it("moves what the policy gave up on to the dead-letter stream with the reason, acknowledged in the same step", async () => {
    const { log, lines } = capturingLogger();
    const msg = await delivered(5);
    const handle = poison({ group: GROUP, consumer: "c1", log })(async () => {
      throw new Poisoned("max-deliveries-exceeded", new Error("warehouse said no"));
    });
    expect(await handle(msg)).toBe("dead-letter");
    expect(await pending()).toBe(0);
    const [id, fields] = (await env.redis.xrange(dlqOf(source.key), "-", "+"))[0]!;
    expect(msg.deadLetter).toEqual({ reason: "max-deliveries-exceeded", id });
    const letter: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) letter[fields[i]!] = fields[i + 1]!;
    expect(letter).toMatchObject({
      stream: source.key,
      entryId: msg.entry.id,
      group: GROUP,
      consumer: "c1",
      deliveries: "5",
      reason: "max-deliveries-exceeded",
      error: "warehouse said no",
      type: "Pinged",
      env: msg.entry.json,
    });
    expect(lines).toEqual([
      expect.objectContaining({
        msg: "event dead-lettered",
        reason: "max-deliveries-exceeded",
        deadLetterId: id,
        entryId: msg.entry.id,
        traceId: msg.envelope!.traceparent.split("-")[1],
        err: expect.objectContaining({ message: "warehouse said no" }),
      }),
    ]);
  });

  it("lets other failures and every success through, leaving the entry pending", async () => {
    const msg = await delivered();
    const { log, lines } = capturingLogger();
    await expect(
      poison({ group: GROUP, consumer: "c1", log })(async () => Promise.reject(new Error("not decided")))(msg),
    ).rejects.toThrow("not decided");
    expect(await poison({ group: GROUP, consumer: "c1", log })(async () => "handled")(msg)).toBe("handled");
    expect(await pending()).toBe(1);
    expect(msg.deadLetter).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
