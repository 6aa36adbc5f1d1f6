import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { spawnRole } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { layoutKey } from "../../src/platform/events/layout-guard.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv("layout-guard", { seed: false });
});

describe("stream layout guard", () => {
  it("records the partition count and refuses another one", async () => {
    await env.start(["relay"], { STREAM_PARTITIONS: "4" });
    expect(await env.redis.get(layoutKey(env.config.STREAM_PREFIX))).toBe("4");
    await env.start(["orders"], { STREAM_PARTITIONS: "4" }); // same count: fine
    await expect(env.start(["inventory"], { STREAM_PARTITIONS: "2" })).rejects.toThrow(
      `STREAM_PARTITIONS=2 but the streams under prefix "${env.config.STREAM_PREFIX}" are laid out for 4 partition(s); refusing to start`,
    );
  });

  it("recognises streams written before the record existed", async () => {
    const plain = `${env.config.STREAM_PREFIX}:legacy1`;
    await env.redis.xadd(`${plain}:orders`, "*", "type", "OrderCreated");
    await expect(env.start(["relay"], { STREAM_PREFIX: plain, STREAM_PARTITIONS: "4" })).rejects.toThrow(
      "laid out for 1 partition(s)",
    );
    const tagged = `${env.config.STREAM_PREFIX}:legacy4`;
    await env.redis.xadd(`{${tagged}:inventory:0}`, "*", "type", "StockAdjusted");
    await expect(env.start(["relay"], { STREAM_PREFIX: tagged })).rejects.toThrow(
      "laid out for more than 1 partition(s)",
    );
    await env.redis.del(`{${tagged}:inventory:0}`);
  });

  it("stops the process with one line on stderr and exit code 2", { timeout: 60_000 }, async () => {
    const p = spawnRole(env, "relay", { STREAM_PARTITIONS: "3" });
    await waitFor(() => p.child.exitCode !== null, { what: "the process to exit", timeoutMs: 50_000, intervalMs: 100 });
    expect(p.child.exitCode).toBe(2);
    expect(p.stderr.trim().split("\n")).toEqual([
      `STREAM_PARTITIONS=3 but the streams under prefix "${env.config.STREAM_PREFIX}" are laid out for 4 partition(s); refusing to start (to change it: drain, then see README "Changing N")`,
    ]);
  });
});
