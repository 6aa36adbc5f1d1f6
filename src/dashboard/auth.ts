/** The bearer token the page uses: typed or pasted (kept in localStorage), or a dev token. */
const KEY = "order-gateway.dashboard.token";

export interface Session {
  token: string;
  subject: string;
  admin: boolean;
  expiresAt: number;
}

export const loadToken = () => localStorage.getItem(KEY);
export const saveToken = (token: string) => localStorage.setItem(KEY, token.trim());
export const clearToken = () => localStorage.removeItem(KEY);

/**
 * Reads the claims the page needs to decide what to show (subject, roles, expiry). Nothing is
 * verified here — the server verifies every request; a forged "admin" only gets FORBIDDEN errors.
 */
export function parseToken(token: string): Session | Error {
  const raw = token.trim().replace(/^Bearer\s+/i, "");
  const part = raw.split(".")[1];
  if (!part) return new Error("not a JWT (expected three dot-separated parts)");
  try {
    const json = atob(
      part
        .replace(/-/g, "+")
        .replace(/_/g, "/")
        .padEnd(Math.ceil(part.length / 4) * 4, "="),
    );
    const claims = JSON.parse(json) as { sub?: string; roles?: string[]; exp?: number };
    const expiresAt = (claims.exp ?? 0) * 1000;
    if (expiresAt && expiresAt < Date.now())
      return new Error(`token expired at ${new Date(expiresAt).toLocaleString()}`);
    return { token: raw, subject: claims.sub ?? "?", admin: (claims.roles ?? []).includes("admin"), expiresAt };
  } catch {
    return new Error("not a JWT (payload is not JSON)");
  }
}

/** Only served while the api signs with the public development secret. */
export async function fetchDevToken(as: "admin" | { customerId: string }): Promise<string> {
  const query = as === "admin" ? "as=admin" : `as=customer&customerId=${encodeURIComponent(as.customerId)}`;
  const res = await fetch(`/dashboard/dev-token?${query}`);
  if (!res.ok) throw new Error(`dev token: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
