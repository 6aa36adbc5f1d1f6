import { z } from "zod";
import { subjectIdSchema } from "../shared/ids.ts";
import type { Principal, Role } from "./principal.ts";

/**
 * What we read from a verified JWT. `roles` is a list of "customer" / "admin"; a customer's `sub` is
 * its customer id (shared/ids.ts: the same rules as a customerId in orders). Unknown roles are ignored, so tokens
 * issued for other services do not grant anything here.
 */
const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  iss: z.string().max(512).optional(),
  exp: z.number().int().positive(),
  roles: z.array(z.string()).max(16).default([]),
});

const KNOWN_ROLES: readonly Role[] = ["customer", "admin"];

export function principalFromClaims(payload: unknown): Principal | string {
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success)
    return `invalid claims: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`;
  const { sub, iss, exp, roles: raw } = parsed.data;
  const roles = new Set(raw.filter((r): r is Role => (KNOWN_ROLES as string[]).includes(r)));
  if (roles.size === 0) return "token grants no role of this service";
  let customerId: string | null = null;
  if (roles.has("customer")) {
    const id = subjectIdSchema.safeParse(sub);
    if (!id.success) return `sub is not a valid customer id: ${id.error.issues[0]!.message}`;
    customerId = id.data;
  }
  return { issuer: iss ?? "", subject: sub, customerId, roles, expiresAt: exp * 1000 };
}
