import { Writable } from "node:stream";
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

describe("logs: pretty (development at a terminal)", () => {
  it("print one readable line per event with its fields; an error's stack follows its line", async () => {
    const { PRETTY_OPTIONS } = await import("../../src/platform/observability/logger.ts");
    const { default: pretty } = await import("pino-pretty");
    let out = "";
    const stream = pretty({
      ...PRETTY_OPTIONS,
      colorize: false,
      sync: true,
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          out += chunk.toString();
          done();
        },
      }),
    });
    const log = createLogger({ LOG_LEVEL: "info", logPretty: false }, {}, stream);
    log.info({ roles: ["api", "relay"], port: 4000, nested: { a: { b: 1 } } }, "started");
    log.error({ err: new Error("boom\nsecond line") }, "handler failed");
    log.info("stopped");
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: started \{.*"roles":\["api","relay"\].*"port":4000.*\}$/,
    );
    expect(lines[1]).toMatch(/^\[[\d:.]+\] ERROR: handler failed/);
    // The error's stack follows its line (indented), then the next event is one line again.
    const next = lines.findIndex((l, i) => i > 1 && /^\[[\d:.]+\] /.test(l));
    expect(lines.slice(2, next).every((l) => /^\s/.test(l))).toBe(true);
    expect(lines.slice(2, next).join("\n")).toContain("boom");
    expect(lines[next]).toMatch(/INFO: stopped$/);
    expect(lines).toHaveLength(next + 1);
    expect(out).not.toMatch(/"pid"|hostname/);
  });
});
