/**
 * Bearer tokens for benchmarks: the app runs with NODE_ENV=production, which requires a signing
 * key, so every bench starts it with this (bench-only) HS256 secret and signs its own tokens with
 * the app's signToken(). Admin tokens: one credential may create orders for, and watch, any customer.
 */
import { signToken } from "../../src/platform/auth/tokens.ts";

export const BENCH_JWT_SECRET = "bench-only-secret-not-for-anything-else-0123456789";

/** Environment the app needs for benchmarks: the signing key, and no mutation rate limit (it would cap createOrder). */
export const BENCH_AUTH_ENV = {
  AUTH_JWT_SECRET: BENCH_JWT_SECRET,
  RATE_LIMIT_MUTATIONS: "0",
  SUBSCRIPTIONS_PER_CLIENT: "1000000",
};

export function adminToken(ttlSeconds = 3_600): Promise<string> {
  return signToken(
    { secret: BENCH_JWT_SECRET, issuer: "order-gateway", audience: "order-gateway" },
    { subject: "bench", roles: ["admin"], ttlSeconds },
  );
}
