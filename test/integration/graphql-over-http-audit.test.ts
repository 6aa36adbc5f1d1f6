/**
 * graphql-http's GraphQL-over-HTTP conformance audit against the real api, in test and in production
 * mode: no error (a MUST broken), no warning (a SHOULD broken). Every result is checked: ok, or one
 * of the notices (MAYs) we decline on purpose, printed with its reason.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { serverAudits, type AuditResult } from "graphql-http";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";

/**
 * GETs without the `x-graphql-csrf` header are "simple" cross-site requests a browser sends without a
 * preflight: the CSRF prevention plugin refuses them with 403 (limits.ts), so these MAYs are declined.
 */
const DECLINED: Record<string, string> = {
  "5A70": "GET without the CSRF header",
  D6D5: "GET without the CSRF header",
  "6A70": "GET without the CSRF header",
};

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv("http-audit", { seed: false });
});

const line = (r: AuditResult) =>
  r.status === "ok" ? `ok      ${r.name}` : `${r.status.padEnd(7)} ${r.name}: ${r.reason}`;

describe("GraphQL over HTTP audit (graphql-http serverAudits)", () => {
  for (const mode of ["test", "production"]) {
    it(`passes every MUST and SHOULD in ${mode} mode`, async () => {
      // Two audits send their variables to `__type(name: $name)`: production refuses introspection on
      // purpose (security.test.ts proves it), so it is turned on here to audit the rest of its stack.
      const overrides: Record<string, string> =
        mode === "production" ? { NODE_ENV: mode, GRAPHQL_INTROSPECTION: "true" } : { NODE_ENV: mode };
      const port = (await env.start(["api"], overrides)).port!;
      const audits = serverAudits({ url: `http://127.0.0.1:${port}/graphql` });
      const results: AuditResult[] = [];
      for (const audit of audits) results.push(await audit.fn());
      const count = (status: AuditResult["status"]) => results.filter((r) => r.status === status).length;
      console.log(
        `graphql-http audit (${mode}): ${count("ok")} ok, ${count("notice")} notices, ${count("warn")} warnings, ` +
          `${count("error")} errors of ${results.length}\n${results
            .filter((r) => r.status !== "ok")
            .map(line)
            .join("\n")}`,
      );
      expect(results).toHaveLength(audits.length);
      expect(results.length).toBeGreaterThanOrEqual(61);
      for (const r of results) {
        if (r.status === "ok") continue;
        expect(r.status, line(r)).toBe("notice");
        expect(DECLINED[r.id], `an unexpected notice: ${line(r)}`).toBeDefined();
        expect(r.response.status, line(r)).toBe(403); // refused by the CSRF check, not broken
      }
      expect(count("ok")).toBe(results.length - Object.keys(DECLINED).length);
    });
  }
});
