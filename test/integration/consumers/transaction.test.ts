import { beforeAll, describe, expect, it } from "vitest";
import { transaction } from "../../../src/platform/consumers/middlewares/transaction.ts";
import type { Message } from "../../../src/platform/consumers/message.ts";
import { createTestEnv, type TestEnv } from "../../support/test-env.ts";
import { entryOf, messageOf, pinged } from "../../support/consumer-messages.ts";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv("mw-transaction", { seed: false });
  await env.db.pool.query("CREATE TABLE marks (name text PRIMARY KEY)");
});

const marks = async () =>
  (await env.db.pool.query<{ name: string }>("SELECT name FROM marks ORDER BY name")).rows.map((r) => r.name);

describe("transaction middleware", () => {
  it("runs the rest of the chain in one transaction, committed when it returns", async () => {
    const msg: Message = messageOf(entryOf(pinged()));
    const handle = transaction(env.db.pool)(async (m) => {
      expect(m).toBe(msg); // the same message, with the transaction on it
      await m.tx.$executeRaw`INSERT INTO marks (name) VALUES (${"first"})`;
      await m.tx.$executeRaw`INSERT INTO marks (name) VALUES (${"second"})`;
      // Not visible outside before the commit.
      expect(await marks()).toEqual([]);
      return "handled";
    });
    expect(await handle(msg)).toBe("handled");
    expect(await marks()).toEqual(["first", "second"]);
  });

  it("rolls everything back when the rest of the chain fails, and passes the failure on", async () => {
    const handle = transaction(env.db.pool)(async (m) => {
      await m.tx.$executeRaw`INSERT INTO marks (name) VALUES (${"rolled back"})`;
      throw new Error("handler failed");
    });
    await expect(handle(messageOf(entryOf(pinged())))).rejects.toThrow("handler failed");
    expect(await marks()).toEqual(["first", "second"]);
  });
});
