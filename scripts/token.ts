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

const USAGE = `Prints a bearer token for this gateway (HS256, AUTH_JWT_SECRET or the development secret).

usage: npm run -s token -- --customer <id> | --admin  [--ttl <seconds>]

  --customer <id>   a customer: its own orders and events only
  --admin           everything, including restock and dead letters
  --ttl <seconds>   lifetime (default ${8 * 3600}, 8 hours)
  -h, --help        this text

Send it as "Authorization: Bearer <token>", or in graphql-ws connection_init as { "authorization": "Bearer <token>" }.`;

function parse() {
  try {
    return parseArgs({
      options: {
        customer: { type: "string" },
        admin: { type: "boolean" },
        ttl: { type: "string", default: String(8 * 3600) },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}
const values = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const ttl = Number(values.ttl);
if (!values.customer === !values.admin || !Number.isInteger(ttl) || ttl < 1) {
  console.error(USAGE);
  process.exit(2);
}
const config = loadConfig({ ...process.env, ROLES: "api" });
if (config.authUsesDevSecret) console.error("note: signed with the public development secret (no AUTH_JWT_SECRET set)");
console.log(await devToken(config, values.admin ? { admin: true } : { customerId: values.customer! }, ttl));
