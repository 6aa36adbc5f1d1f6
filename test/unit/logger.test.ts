import { describe, expect, it } from "vitest";
import { createLogger, scrubSecrets } from "../../src/platform/observability/logger.ts";
import { loadConfig } from "../../src/config.ts";

function capture(level = "info") {
  const lines: string[] = [];
  const log = createLogger(
    { LOG_LEVEL: level as never, logPretty: false },
    {},
    { write: (s: string) => void lines.push(s) },
  );
  return { log, lines, text: () => lines.join("") };
}

describe("logs: configuration", () => {
  it("are JSON in production and for tests, pretty when asked; the level is configurable", () => {
    expect(loadConfig({ NODE_ENV: "production", ROLES: "relay" }).logPretty).toBe(false);
    expect(loadConfig({ NODE_ENV: "test" }).logPretty).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", ROLES: "relay", LOG_PRETTY: "true" }).logPretty).toBe(true);
    expect(loadConfig({ NODE_ENV: "development", LOG_PRETTY: "false" }).logPretty).toBe(false);
    expect(loadConfig({ LOG_LEVEL: "debug" }).LOG_LEVEL).toBe("debug");
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(/LOG_LEVEL/);

    const { log, lines } = capture("warn");
    log.info("hidden");
    log.warn("shown");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["shown"]);
  });
});

describe("logs: no secrets", () => {
  it("redacts credentials by field and scrubs URL passwords and bearer tokens from every string", () => {
    const { log, text } = capture();
    log.info(
      { req: { headers: { authorization: "Bearer header.token.value", cookie: "session=cookie-secret" } } },
      "request",
    );
    log.info(
      {
        connectionParams: { authorization: "Bearer ws.token.value" },
        password: "pw-field",
        nested: { token: "nested-token", apiKey: "key-1" },
      },
      "init",
    );
    log.info(
      {
        databaseUrl: "postgresql://app:db-password@db:5432/orders",
        redis: "rediss://default:redis-password@cache:6380",
      },
      "connecting to postgresql://app:db-password@db/orders",
    );
    log.error(
      { err: new Error("connect failed for postgresql://app:db-password@db/orders with Bearer err.token.value") },
      "boom",
    );
    log.child({ traceId: "t" }).warn("retrying with Authorization: Bearer msg.token.value");
    const out = text();
    for (const secret of [
      "header.token.value",
      "cookie-secret",
      "ws.token.value",
      "pw-field",
      "nested-token",
      "key-1",
      "db-password",
      "redis-password",
      "err.token.value",
      "msg.token.value",
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain("postgresql://app:[redacted]@db:5432/orders");
    expect(out).toContain('"authorization":"[redacted]"');
    expect(out).toContain("connect failed for postgresql://app:[redacted]@db/orders"); // the error message stays useful
    expect(out).toContain('"traceId":"t"');
    expect(scrubSecrets("redis://:only-password@h:1")).toBe("redis://:[redacted]@h:1");
    expect(scrubSecrets("http://example.com/a@b")).toBe("http://example.com/a@b");
  });
});
