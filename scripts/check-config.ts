/**
 * `npm start` runs this first (prestart): the environment is validated once, before migrations, the
 * seed or the app run, and a bad variable gives one line per problem (exit 2), never a stack trace.
 */
import { ConfigError, loadConfig } from "../src/config.ts";

try {
  loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}
