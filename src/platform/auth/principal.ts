/**
 * Who is asking. Built once per HTTP request or WebSocket connection from a verified token; the
 * authorization rules (scopes beside the fields, and the pure checks below) only ever read this.
 */
export type Role = "customer" | "admin";

export interface Principal {
  /** The token's issuer (`iss`); "" when the token names none. */
  issuer?: string;
  /** The token's subject: the customer id for customers, an operator id for admins. */
  subject: string;
  /** Set for customers: the only customer this principal may act for. */
  customerId: string | null;
  roles: ReadonlySet<Role>;
  /** Epoch ms when the token stops being valid; live subscriptions end then. */
  expiresAt: number;
}

/** null: anonymous (public fields only). */
export type Viewer = Principal | null;

export const isAdmin = (viewer: Viewer) => viewer?.roles.has("admin") === true;

/** May this viewer see or act on data of `customerId`? Admins: any; customers: only their own. */
export function mayActFor(viewer: Viewer, customerId: string): boolean {
  if (!viewer) return false;
  return isAdmin(viewer) || (viewer.roles.has("customer") && viewer.customerId === customerId);
}

export const isExpired = (viewer: Viewer, now = Date.now()) => viewer !== null && viewer.expiresAt <= now;

/**
 * The one key a principal's budgets and idempotency keys are filed under: issuer, roles and subject,
 * so a customer whose subject is `admin` (or an admin of another issuer) is someone else. JSON, so no
 * subject can forge the separators.
 */
export const principalKey = (principal: Principal) =>
  `p:${JSON.stringify([principal.issuer ?? "", [...principal.roles].sort(), principal.subject])}`;

/** A short description for logs: never the token itself. */
export const describeViewer = (viewer: Viewer) =>
  viewer ? { subject: viewer.subject, roles: [...viewer.roles].join(",") } : { subject: "anonymous" };
