/**
 * Security hardening, round 2 (issue 16): each test closes one hole a hostile tester found.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, gql, sse, wsClient } from "../support/graphql-clients.ts";
import { metric, parseMetrics } from "../support/metrics.ts";
import { waitFor } from "../support/wait.ts";
import { ADMIN_TOKEN, bearer, customerToken } from "../support/auth.ts";
import { StreamHub } from "../../src/platform/live/hub.ts";
import { subscribeSnapshots } from "../../src/platform/live/graphql-fields.ts";
import { createRedis } from "../../src/platform/infra/redis.ts";
import { eventRegistry } from "../../src/modules.ts";

let env: TestEnv;
let port: number;

beforeAll(async () => {
  env = await createTestEnv("security");
  port = (await env.start(["api"])).port!;
});

const liveSubscriptions = async (stream: string) => {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return metric(parseMetrics(await res.text()), "live_subscriptions", { stream });
};

describe("subscriptions whose setup fails", () => {
  const STOCK = `subscription($sku: String!) { stockLevel(sku: $sku) { sku } }`;

  it("leave the hub: live_subscriptions returns to where it was, over graphql-ws and SSE", async () => {
    expect(await liveSubscriptions("inventory")).toBe(0);
    const client = wsClient(port);
    try {
      for (let i = 0; i < 30; i++) {
        const sub = collect(client, STOCK, { sku: `NUL\u0000${i}` });
        await waitFor(() => sub.received.length > 0 || sub.error !== undefined || sub.completed, {
          what: "the subscription's answer",
        });
        expect(sub.received[0]?.errors?.length ?? (sub.error ? 1 : 0)).toBeGreaterThan(0);
      }
    } finally {
      client.dispose();
    }
    for (let i = 0; i < 5; i++) {
      const stream = await sse(port, STOCK, { sku: `NUL\u0000${i}` }, bearer(ADMIN_TOKEN));
      const first = await stream.next();
      expect(first.errors?.length ?? 0).toBeGreaterThan(0);
      stream.close();
    }
    // A healthy subscription still registers (the gauge is live), then leaves when closed.
    const healthy = wsClient(port);
    const sub = collect(healthy, STOCK, { sku: "SKU-001" });
    await sub.until(1);
    expect(await liveSubscriptions("inventory")).toBe(1);
    healthy.dispose();
    await waitFor(async () => (await liveSubscriptions("inventory")) === 0, { what: "every subscription to leave" });
  });

  it("release the hub subscriber when the first snapshot throws", async () => {
    const hub = new StreamHub({
      events: eventRegistry,
      redis: createRedis(env.config.REDIS_URL, "security:test"),
      commands: env.redis,
      key: `${env.config.STREAM_PREFIX}:security`,
      log: env.log,
      blockMs: 200,
      readCount: 10,
      bufferSize: 5,
    });
    await hub.start();
    try {
      const gen = await subscribeSnapshots(
        hub,
        { keys: ["sku:X"] },
        null,
        () => Promise.reject(new Error("load failed")),
        null,
      );
      expect(hub.subscriberCount).toBe(1);
      await expect(gen.next()).rejects.toThrow("load failed");
      expect(hub.subscriberCount).toBe(0);
    } finally {
      await hub.stop();
    }
  });
});

afterAll(async () => {
  void customerToken;
  void gql;
});
