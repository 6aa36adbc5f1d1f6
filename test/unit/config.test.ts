import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";

describe("config", () => {
  it("has working defaults for local development", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 4000,
      STREAM_PREFIX: "events",
      ROLES: ["api", "relay", "inventory", "orders"],
      REDIS_URL: "redis://127.0.0.1:6379",
    });
  });

  it("keeps the inbox at least as long as the stream", () => {
    expect(loadConfig({}).INBOX_RETENTION_MS).toBe(14 * 86_400_000);
    expect(() => loadConfig({ STREAM_RETENTION_MS: "86400000", INBOX_RETENTION_MS: "3600000" })).toThrow(
      /INBOX_RETENTION_MS: must be at least STREAM_RETENTION_MS/,
    );
    expect(loadConfig({ STREAM_RETENTION_MS: "3600000", INBOX_RETENTION_MS: "3600000" }).INBOX_RETENTION_MS).toBe(
      3_600_000,
    );
  });

  it("names every bad variable", () => {
    expect(() => loadConfig({ PORT: "http", ROLES: "api,chef", DATABASE_URL: "mysql://x" })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: "http", ROLES: "api,chef", DATABASE_URL: "mysql://x" });
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT/);
      expect((err as Error).message).toMatch(/ROLES/);
      expect((err as Error).message).toMatch(/DATABASE_URL/);
    }
  });

  it("requires a secret or JWKS in production and refuses weak secrets", () => {
    expect(() => loadConfig({ NODE_ENV: "production", ROLES: "api" })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: "production", ROLES: "relay" })).not.toThrow(); // workers verify no tokens
    expect(() => loadConfig({ AUTH_JWT_SECRET: "short" })).toThrow(/at least 32/);
    expect(loadConfig({ NODE_ENV: "development" }).authUsesDevSecret).toBe(true);
    // Development hands out dev tokens: it listens on this machine only unless told otherwise.
    expect(loadConfig({ NODE_ENV: "development" }).HOST).toBe("127.0.0.1");
    expect(loadConfig({ NODE_ENV: "development", HOST: "0.0.0.0" }).HOST).toBe("0.0.0.0");
    expect(
      loadConfig({ NODE_ENV: "production", AUTH_JWKS_URL: "https://id.example.com/.well-known/jwks.json" }).auth.secret,
    ).toBeUndefined();
  });

  it("accepts only trusted documents in production when asked, never in development", () => {
    const production = { NODE_ENV: "production", AUTH_JWT_SECRET: "x".repeat(32) };
    expect(loadConfig(production).trustedDocumentsManifest).toBeNull();
    expect(loadConfig({ ...production, TRUSTED_DOCUMENTS: "true" }).trustedDocumentsManifest).toBe(
      "src/dashboard/generated/persisted-documents.json",
    );
    expect(
      loadConfig({ ...production, TRUSTED_DOCUMENTS: "true", TRUSTED_DOCUMENTS_MANIFEST: "/srv/allow.json" })
        .trustedDocumentsManifest,
    ).toBe("/srv/allow.json");
    expect(loadConfig({ NODE_ENV: "development", TRUSTED_DOCUMENTS: "true" }).trustedDocumentsManifest).toBeNull();
    expect(() => loadConfig({ ...production, TRUSTED_DOCUMENTS: "maybe" })).toThrow(/TRUSTED_DOCUMENTS/);
    // GraphiQL sends documents of its own: both on in production is a mistake named at start-up.
    expect(() => loadConfig({ ...production, TRUSTED_DOCUMENTS: "true", GRAPHIQL: "true" })).toThrow(/GRAPHIQL/);
  });
});
