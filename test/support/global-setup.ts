import { TEMPLATE_DB, admin, dropDatabase, prismaCli, urlFor } from "./databases.ts";

/**
 * Once per run: a template database migrated with the real `prisma migrate deploy`. Each test file
 * clones it (CREATE DATABASE … TEMPLATE, a file copy) instead of migrating its own.
 */
export default async function setup() {
  await dropOrphanedTemplates();
  await dropDatabase(TEMPLATE_DB);
  await prismaCli(["migrate", "deploy"], urlFor(TEMPLATE_DB));
  // Nobody may connect to a template while it is being cloned.
  await admin((c) => c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`));
  return async () => {
    await unmarkTemplate();
    await dropDatabase(TEMPLATE_DB);
  };
}

/** Templates of runs that were killed (their process is gone). */
async function dropOrphanedTemplates() {
  const { rows } = await admin((c) =>
    c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'gateway\\_test\\_template%'"),
  );
  for (const { datname } of rows) {
    const pid = Number(/_(\d+)$/.exec(datname)?.[1]);
    if (datname === TEMPLATE_DB || !pid || isAlive(pid)) continue;
    await admin((c) => c.query(`ALTER DATABASE "${datname}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`)).catch(
      () => {},
    );
    await dropDatabase(datname).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function unmarkTemplate() {
  await admin(async (c) => {
    const { rowCount } = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [TEMPLATE_DB]);
    if (rowCount) await c.query(`ALTER DATABASE "${TEMPLATE_DB}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`);
  });
}
