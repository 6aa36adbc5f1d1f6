import { TEMPLATE_DB, admin, dropDatabase, prismaCli, urlFor } from "./databases.ts";

/**
 * Once per run: a template database migrated with the real `prisma migrate deploy`. Each test file
 * clones it (CREATE DATABASE … TEMPLATE, a file copy) instead of migrating its own.
 */
export default async function setup() {
  await dropDatabase(TEMPLATE_DB);
  await prismaCli(["migrate", "deploy"], urlFor(TEMPLATE_DB));
  // Nobody may connect to a template while it is being cloned.
  await admin((c) => c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`));
  return async () => {
    await admin((c) => c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`));
    await dropDatabase(TEMPLATE_DB);
  };
}
