import { SignJWT, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { LRUCache } from "lru-cache";
import { AppError } from "../shared/errors.ts";
import { principalFromClaims } from "./claims.ts";
import type { Principal, Role } from "./principal.ts";

export interface AuthSettings {
  /** HS256 shared secret (local use), or… */
  secret?: string;
  /** …a JWKS URL (production: keys rotate at the identity provider). */
  jwksUrl?: string;
  issuer: string;
  audience: string;
  clockToleranceS: number;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

const VERIFIED_TOKENS_CACHED = 10_000;
const VERIFIED_TOKEN_TTL_MS = 60_000;

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/**
 * Verifies bearer tokens: signature (only the algorithms the key type allows, so `alg: none` and
 * HS/RS confusion are refused), expiry (required), issuer and audience, then our claims.
 * Every failure is an UNAUTHENTICATED AppError whose message says what was wrong, never the token.
 */
export function createVerifier(settings: AuthSettings): TokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 })
    : new TextEncoder().encode(settings.secret);
  const algorithms = settings.jwksUrl ? ASYMMETRIC : ["HS256"];
  // A client sends the same token with every request: verify its signature once, then trust the
  // same string until it expires. Bounded in count, and in time so a key withdrawn from the JWKS
  // stops being honoured within a minute.
  const verified = new LRUCache<string, Principal>({ max: VERIFIED_TOKENS_CACHED, ttl: VERIFIED_TOKEN_TTL_MS });
  return async (token) => {
    const known = verified.get(token);
    if (known && Date.now() < known.expiresAt + settings.clockToleranceS * 1000) return known;
    if (known) throw unauthenticated("token expired");
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ["exp", "sub"],
        clockTolerance: settings.clockToleranceS,
      }));
    } catch (err) {
      throw unauthenticated(describeJoseError(err));
    }
    const principal = principalFromClaims(payload);
    if (typeof principal === "string") throw unauthenticated(principal);
    verified.set(token, principal);
    return principal;
  };
}

export function unauthenticated(why: string): AppError {
  return new AppError("UNAUTHENTICATED", `not authenticated: ${why}`, { extensions: { http: { status: 401 } } });
}

function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "token expired";
  if (err instanceof errors.JWTClaimValidationFailed)
    return `claim ${err.claim} ${err.reason === "missing" ? "missing" : "rejected"}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "bad signature";
  if (err instanceof errors.JOSEAlgNotAllowed) return "signing algorithm not accepted";
  if (err instanceof errors.JWKSNoMatchingKey) return "no matching signing key";
  if (err instanceof errors.JWKSTimeout || (err instanceof errors.JOSEError && err.code === "ERR_JWKS_INVALID"))
    return "signing keys unavailable";
  return "malformed token";
}

/** Reads `Bearer <token>` (case-insensitive scheme). Anything else is a malformed credential. */
export function bearerToken(header: string | null | undefined): string | null | Error {
  if (header == null || header.trim() === "") return null;
  const match = /^Bearer\s+([A-Za-z0-9_\-.=]+)\s*$/i.exec(header.trim());
  return match ? match[1]! : new Error("Authorization must be `Bearer <token>`");
}

export interface TokenRequest {
  subject: string;
  roles: Role[];
  ttlSeconds: number;
}

/** Signs an HS256 token the verifier accepts: for `npm run token`, the dev GraphiQL header and tests. */
export function signToken(
  settings: Pick<AuthSettings, "secret" | "issuer" | "audience">,
  request: TokenRequest,
): Promise<string> {
  if (!settings.secret)
    throw new Error("signing needs AUTH_JWT_SECRET (tokens for a JWKS setup come from its identity provider)");
  return new SignJWT({ roles: request.roles })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.subject)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + request.ttlSeconds)
    .sign(new TextEncoder().encode(settings.secret));
}
