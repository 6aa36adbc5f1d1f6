import { describe, expect, it, vi } from "vitest";
import { createVerifier } from "../../src/platform/auth/tokens.ts";
import { principalFromClaims } from "../../src/platform/auth/claims.ts";
import { mayActFor } from "../../src/platform/auth/principal.ts";
import { TEST_AUTH, tokenFor } from "../support/auth.ts";

describe("tokens", () => {
  it("reads customers and admins from claims and refuses anything else", () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(principalFromClaims({ sub: "c1", exp, roles: ["customer"] })).toMatchObject({ customerId: "c1" });
    expect(principalFromClaims({ sub: "ops", exp, roles: ["admin", "other"] })).toMatchObject({ customerId: null });
    expect(principalFromClaims({ sub: "c1", exp, roles: ["reader"] })).toBe("token grants no role of this service");
    expect(principalFromClaims({ sub: "bad id!", exp, roles: ["customer"] })).toMatch(/not a valid customer id/);
    expect(principalFromClaims({ sub: "c1", roles: ["customer"] })).toMatch(/invalid claims/);
    const customer = { subject: "c1", customerId: "c1", roles: new Set(["customer"] as const), expiresAt: 0 };
    expect(mayActFor(customer, "c1")).toBe(true);
    expect(mayActFor(customer, "c2")).toBe(false);
    expect(mayActFor(null, "c1")).toBe(false);
  });

  it("verifies a token's signature once, never honours an altered copy, and refuses it once expired", async () => {
    const verify = createVerifier({ ...TEST_AUTH, clockToleranceS: 0 });
    const token = await tokenFor("brief", ["customer"], 2);
    const first = await verify(token);
    expect(await verify(token)).toBe(first); // the verified principal, not a second verification
    const [h, , sig] = token.split(".");
    const elevated = Buffer.from(
      JSON.stringify({
        sub: "brief",
        roles: ["admin"],
        exp: Math.floor(Date.now() / 1000) + 600,
        iss: TEST_AUTH.issuer,
        aud: TEST_AUTH.audience,
      }),
    ).toString("base64url");
    await expect(verify(`${h}.${elevated}.${sig}`)).rejects.toThrow(/bad signature/);
    // The clock moves past the expiry (instead of the test waiting two seconds for it).
    vi.useFakeTimers({ toFake: ["Date"], now: first.expiresAt + 50 });
    try {
      await expect(verify(token)).rejects.toThrow(/token expired/);
    } finally {
      vi.useRealTimers();
    }
  });
});
