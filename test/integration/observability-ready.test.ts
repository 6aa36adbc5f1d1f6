import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { PrivateRedis } from "../support/private-redis.ts";
import { waitFor } from "../support/wait.ts";

interface ReadyAnswer {
  status: number;
  body: { ready: boolean; reason?: string; checks?: Record<string, string> };
}

async function ready(port: number): Promise<ReadyAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: res.status, body: (await res.json()) as ReadyAnswer["body"] };
}

const ALL_OK = { postgres: "ok", redis: "ok", migrations: "ok", loops: "ok" };

describe("/health and /ready for every role", () => {
  let redis: PrivateRedis;
  let env: TestEnv;

  beforeAll(async () => {
    redis = await PrivateRedis.create();
    await redis.start();
    env = await createTestEnv("obs-ready", { redisUrl: redis.url });
  });
  // Registered first, so it runs after the env's own teardown (which still needs this Redis).
  afterAll(async () => {
    await redis?.destroy();
  });

  it("turns false while Redis is stopped, saying so, and true again once it is back (api and workers)", async () => {
    const api = await env.start(["api"]);
    const workers = await env.start(["relay", "inventory", "orders"]);
    const ports = { api: api.port!, workers: workers.healthPort! };

    for (const port of Object.values(ports))
      expect(await ready(port)).toEqual({ status: 200, body: { ready: true, checks: ALL_OK } });

    await redis.stop();
    for (const [who, port] of Object.entries(ports)) {
      const down = await waitFor(
        async () => {
          const r = await ready(port);
          return r.status === 503 ? r : null;
        },
        { what: `${who} to report not ready` },
      );
      expect(down.body).toMatchObject({ ready: false, checks: { postgres: "ok", migrations: "ok", loops: "ok" } });
      expect(down.body.checks!.redis).toMatch(/^redis did not answer/);
      expect(down.body.reason).toMatch(/^redis: /);
      // The process itself is fine: liveness stays up, so an orchestrator waits instead of restarting it.
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    }

    await redis.start();
    for (const [who, port] of Object.entries(ports)) {
      const up = await waitFor(
        async () => {
          const r = await ready(port);
          return r.status === 200 ? r : null;
        },
        { what: `${who} to be ready again` },
      );
      expect(up.body).toEqual({ ready: true, checks: ALL_OK });
    }
  });

  it("turns false while a migration of this code is not applied", async () => {
    const { rows } = await env.db.pool.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1",
    );
    const latest = rows[0]!.migration_name;
    await env.db.pool.query("UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1", [latest]);
    try {
      const app = await env.start(["inventory"]);
      const r = await ready(app.healthPort!);
      expect(r.status).toBe(503);
      expect(r.body.checks).toEqual({ ...ALL_OK, migrations: `not applied: ${latest}` });
    } finally {
      await env.db.pool.query("UPDATE _prisma_migrations SET rolled_back_at = NULL WHERE migration_name = $1", [
        latest,
      ]);
    }
  });

  it("turns false when one of the role's loops has stopped", async () => {
    const app = await env.start(["relay", "orders"]);
    expect((await ready(app.healthPort!)).status).toBe(200);
    await app.relay!.stop();
    expect((await ready(app.healthPort!)).body.checks!.loops).toBe("not running: relay");
    await app.consumers[0]!.stop();
    const r = await ready(app.healthPort!);
    expect(r.status).toBe(503);
    expect(r.body.checks!.loops).toBe("not running: relay, consumer orders");
  });
});
