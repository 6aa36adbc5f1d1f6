import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { gql, wsClient, collect } from "../support/graphql-clients.ts";
import { ORDER_EVENTS, placeOrder } from "../support/documents.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { ADMIN_TOKEN, TEST_JWT_SECRET } from "../support/auth.ts";
import { waitFor } from "../support/wait.ts";

describe("logs: real processes", () => {
  let env: TestEnv;
  let json: AppProcess;
  let pretty: AppProcess;
  let prettyOut = "";

  beforeAll(async () => {
    env = await createTestEnv("obs-logs");
    // A password in the database URL (Postgres trusts local connections, so it is accepted and ignored).
    const withPassword = env.config.DATABASE_URL.replace("postgres@", "postgres:url-password-123@");
    json = spawnRole(env, "api,relay,inventory,orders", { LOG_LEVEL: "debug", DATABASE_URL: withPassword });
    pretty = spawnRole(env, "relay", { LOG_PRETTY: "true" });
    pretty.child.stdout!.on("data", (chunk: string) => (prettyOut += chunk));
    await waitFor(() => json.logs.find((l) => l.msg === "started") && prettyOut.includes("started"), {
      timeoutMs: 60_000,
      what: "both processes to start",
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([json?.stop(), pretty?.stop()]);
  });

  it("pino-pretty output when LOG_PRETTY is on, JSON lines otherwise", () => {
    expect(prettyOut).toMatch(/INFO.*started/);
    expect(
      prettyOut
        .split("\n")
        .filter(Boolean)
        .some((l) => l.startsWith("{")),
    ).toBe(false);
    expect(json.logs.length).toBeGreaterThan(0);
    expect(pretty.logs.filter((l) => typeof l === "object" && l !== null && "msg" in l)).toEqual([]); // no JSON log records
  });

  it("never writes tokens or connection-string passwords, even at debug level", async () => {
    const port = json.logs.find((l) => l.msg === "started")!.port as number;
    await placeOrder(port, { customerId: "logs", items: [{ sku: "SKU-002", quantity: 1 }] });
    const refused = await gql(port, `{ products(first: 1) { edges { node { sku } } } }`, undefined, {
      authorization: "Bearer not.a-valid.token-xyz",
    });
    expect(refused.errors?.length ?? 0).toBeGreaterThan(0);
    const client = wsClient(port);
    const sub = collect(client, ORDER_EVENTS, { customerId: "logs" });
    await waitFor(() => json.logs.some((l) => l.msg === "subscription started"), { what: "the subscription" });
    sub.dispose();
    client.dispose();
    await waitFor(() => json.logs.some((l) => l.msg === "event handled" && l.eventType === "StockReserved"), {
      what: "the saga to run",
    });

    const everything = JSON.stringify(json.logs);
    expect(everything).not.toContain(ADMIN_TOKEN);
    expect(everything).not.toContain(ADMIN_TOKEN.split(".")[2]!); // not even the signature
    expect(everything).not.toContain("not.a-valid.token-xyz");
    expect(everything).not.toContain(TEST_JWT_SECRET);
    expect(everything).not.toContain("url-password-123");
  });
});
