import type { Viewer } from "./principal.ts";
import { bearerToken, unauthenticated, type TokenVerifier } from "./tokens.ts";

/**
 * The viewer for an `Authorization` value: null when there is none (public fields only), the
 * verified principal otherwise. A credential that is present but bad is an error, never anonymous:
 * a client with an expired token must learn so instead of silently seeing less.
 */
export async function viewerFromAuthorization(
  header: string | null | undefined,
  verify: TokenVerifier,
): Promise<Viewer> {
  const token = bearerToken(header);
  if (token === null) return null;
  if (token instanceof Error) throw unauthenticated(token.message);
  return verify(token);
}

/**
 * graphql-ws clients cannot set headers, so the token travels in connection_init's payload:
 * `{ "authorization": "Bearer …" }` (also accepted: `Authorization`, `headers.Authorization`, `token`).
 */
export function authorizationFromConnectionParams(params: Record<string, unknown> | undefined | null): string | null {
  if (!params || typeof params !== "object") return null;
  const headers =
    typeof params.headers === "object" && params.headers !== null ? (params.headers as Record<string, unknown>) : {};
  const value = params.authorization ?? params.Authorization ?? headers.authorization ?? headers.Authorization;
  if (typeof value === "string") return value;
  return typeof params.token === "string" ? `Bearer ${params.token}` : null;
}
