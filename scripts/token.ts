/**
 * Prints a bearer token for this gateway, signed with AUTH_JWT_SECRET (or the development secret):
 *   npm run token -- --customer c1          a customer: orders and events of c1 only
 *   npm run token -- --admin                everything, including restock and dead letters
 *   npm run token -- --customer c1 --ttl 600   lifetime in seconds (default 8 h)
 * Send it as `Authorization: Bearer <token>`, or in graphql-ws connection_init as { authorization }.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { devToken } from "../src/platform/auth/dev-tokens.ts";

const { values } = parseArgs({
  options: {
    customer: { type: "string" },
    admin: { type: "boolean" },
    ttl: { type: "string", default: String(8 * 3600) },
  },
});
const ttl = Number(values.ttl);
if (!values.customer === !values.admin || !Number.isInteger(ttl) || ttl < 1) {
  console.error("usage: npm run token -- --customer <id> | --admin  [--ttl <seconds>]");
  process.exit(2);
}
const config = loadConfig({ ...process.env, ROLES: "api" });
if (config.authUsesDevSecret) console.error("note: signed with the public development secret (no AUTH_JWT_SECRET set)");
console.log(await devToken(config, values.admin ? { admin: true } : { customerId: values.customer! }, ttl));
