import { TEMPLATE_DB, admin, dropDatabase, prismaCli, urlFor } from "./databases.ts";

/**
 * Once per run: a template database migrated with the real `prisma migrate deploy`. Each test file
 * clones it (CREATE DATABASE … TEMPLATE, a file copy) instead of migrating its own.
 */
export default async function setup() {
  await unmarkTemplate(); // a run that was killed may have left it marked
  await dropDatabase(TEMPLATE_DB);
  await prismaCli(["migrate", "deploy"], urlFor(TEMPLATE_DB));
  // Nobody may connect to a template while it is being cloned.
  await admin((c) => c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`));
  return async () => {
    await unmarkTemplate();
    await dropDatabase(TEMPLATE_DB);
  };
}

async function unmarkTemplate() {
  await admin(async (c) => {
    const { rowCount } = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [TEMPLATE_DB]);
    if (rowCount) await c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`);
  });
}
