import { signToken, type AuthSettings } from "./tokens.ts";
import type { Role } from "./principal.ts";

/** A token signed with the configured secret: `npm run token`, and GraphiQL's header in dev. */
export function devToken(
  config: { auth: AuthSettings },
  who: { admin: true } | { customerId: string },
  ttlSeconds = 8 * 3600,
) {
  const request =
    "admin" in who
      ? { subject: "admin", roles: ["admin"] as Role[], ttlSeconds }
      : { subject: who.customerId, roles: ["customer"] as Role[], ttlSeconds };
  return signToken(config.auth, request);
}

/**
 * GraphiQL's header editor content. With the public development secret it holds a fresh admin token,
 * so the example operations run as they are; with a real secret only the shape to fill in.
 */
export async function graphiqlHeaders(config: { auth: AuthSettings; authUsesDevSecret: boolean }): Promise<string> {
  const token = config.authUsesDevSecret
    ? await devToken(config, { admin: true })
    : "<paste a token: npm run token -- --admin>";
  return JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
}
