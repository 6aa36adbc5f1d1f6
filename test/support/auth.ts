import { signToken } from "../../src/platform/auth/tokens.ts";
import type { Role } from "../../src/platform/auth/principal.ts";

/** The secret every test process (in-process apps and spawned roles) verifies tokens with. */
export const TEST_JWT_SECRET = "test-secret-for-the-test-suite-only-0123456789";
export const TEST_AUTH = { secret: TEST_JWT_SECRET, issuer: "order-gateway", audience: "order-gateway" };

export const tokenFor = (subject: string, roles: Role[], ttlSeconds = 3600) =>
  signToken(TEST_AUTH, { subject, roles, ttlSeconds });

/** Signed once per process: most tests act as an operator unless they test authorization. */
export const ADMIN_TOKEN = await tokenFor("test-admin", ["admin"]);
export const customerToken = (customerId: string, ttlSeconds?: number) =>
  tokenFor(customerId, ["customer"], ttlSeconds);
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
