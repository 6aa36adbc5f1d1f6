/**
 * The write path needs only Postgres: while the rate limiter's Redis is down, mutations are still
 * answered (placed, unlimited), each one counted in rate_limiter_fail_open_total; the limit applies
 * again once Redis is back.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { gql } from "../support/graphql-clients.ts";
import { CREATE_ORDER } from "../support/documents.ts";
import { PrivateRedis } from "../support/private-redis.ts";
import { metric, parseMetrics } from "../support/metrics.ts";
import { waitFor } from "../support/wait.ts";
import type { RunningApp } from "../../src/app.ts";

let redis: PrivateRedis;
let env: TestEnv;
let app: RunningApp;

beforeAll(async () => {
  redis = await PrivateRedis.create();
  await redis.start();
  env = await createTestEnv("redis-down-mutations", { redisUrl: redis.url });
  app = await env.start(["api"], { RATE_LIMIT_MUTATIONS: "3", RATE_LIMIT_WINDOW_MS: "600000" });
});
afterAll(() => redis?.destroy());

const order = (customerId: string) =>
  gql(app.port!, CREATE_ORDER, { input: { customerId, items: [{ sku: "SKU-001", quantity: 1 }] } });
const failOpen = async () =>
  metric(
    parseMetrics(await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text()),
    "rate_limiter_fail_open_total",
  );

it("answers mutations while Redis is stopped (fail open, counted), and limits again once it is back", async () => {
  expect((await order("up")).errors).toBeUndefined();
  const before = await failOpen();

  await redis.stop();
  // Redis stays down until every one of these has been answered: before, each waited for it.
  const during = await Promise.all(Array.from({ length: 5 }, (_, i) => order(`down${i}`)));
  for (const res of during) {
    expect(res.errors).toBeUndefined();
    expect(res.data?.createOrder.order.status).toBe("PENDING");
  }
  // Five mutations over a limit of 3: none was limited, every one was counted as failing open.
  expect((await failOpen()) - before).toBe(5);

  await redis.start();
  await waitFor(async () => (await order("back")).errors?.[0]?.extensions?.code === "RATE_LIMITED", {
    timeoutMs: 15_000,
    what: "the limit to apply again",
  });
}, 60_000);
