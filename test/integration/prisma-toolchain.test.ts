// The Prisma toolchain as the project uses it: the real CLI, spawned as a child process, running
// through scripts/prisma-schema-engine.mjs (the wasm schema-engine shim that prisma.config.ts
// selects), on scratch databases this file creates and drops itself. It also proves the hand-written
// parts of the init migration (CHECK constraints, the outbox NOTIFY trigger) do what they claim.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "node_modules/prisma/build/index.js");
const SHIM = path.join(ROOT, "scripts/prisma-schema-engine.mjs");
const MIGRATIONS = path.join(ROOT, "prisma/migrations");
const SCHEMA = path.join(ROOT, "prisma/schema.prisma");
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
// Bounds, not expectations: the wasm engine is CPU-heavy and shares the machine with other test files.
const TIMEOUT = 150_000;

// ---- scratch databases --------------------------------------------------------------------------

const scratch: string[] = [];
/** A fresh, not yet existing database name of this file's own (`shim_<pid>_<n>`). */
function scratchDb(): string {
  const name = `shim_${process.pid}_${scratch.length + 1}`;
  scratch.push(name);
  return name;
}

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withPg<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// ---- running the CLI ----------------------------------------------------------------------------

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args…` to completion; never rejects on a non-zero exit code. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/** The environment of a CLI run: prisma.config.ts must choose the shim by itself. */
function cliEnv(database: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: urlFor(database), CHECKPOINT_DISABLE: "1", ...extra };
  if (!("PRISMA_SCHEMA_ENGINE_BINARY" in extra)) delete env.PRISMA_SCHEMA_ENGINE_BINARY;
  delete env.PRISMA_NATIVE_SCHEMA_ENGINE;
  return env;
}

function prisma(args: string[], database: string, opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return run(process.execPath, [CLI, ...args], cliEnv(database, opts.env), opts.input);
}

/** Asserts exit code 0, showing the CLI's output when it is not. */
async function prismaOk(args: string[], database: string, opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = await prisma(args, database, opts);
  expect(result.code, `prisma ${args.join(" ")}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

const migrationNames = () =>
  fs
    .readdirSync(MIGRATIONS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** The repo's schema plus one model: a schema change every diff must notice. */
const changedSchema = () =>
  `${fs.readFileSync(SCHEMA, "utf8")}\nmodel ShimProbe {\n  id Int @id\n\n  @@map("shim_probe")\n}\n`;

// ---- the tests ----------------------------------------------------------------------------------

let tmp: string;
let migrated: string; // a database with every migration applied (by the deploy test)

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "prisma-toolchain-"));
});

afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await withPg("postgres", async (c) => {
    for (const name of scratch) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}, TIMEOUT);

describe("Prisma CLI through the wasm schema-engine shim", () => {
  it("answers one-shot engine invocations", { timeout: TIMEOUT }, async () => {
    const version = await prismaOk(["--version"], "postgres");
    expect(version.stdout).toMatch(/Schema Engine\s*: schema-engine-cli [0-9a-f]{40} \(wasm shim\)/);
    expect(version.stdout).toContain("resolved by PRISMA_SCHEMA_ENGINE_BINARY");

    // What the CLI asks before `migrate deploy` creates a missing database: a P1003 on stderr.
    const datasource = JSON.stringify({ url: urlFor(`shim_${process.pid}_missing`) });
    const probe = await run(SHIM, ["--datasource", datasource, "cli", "can-connect-to-database"], process.env);
    expect(probe.code).toBe(1);
    const [, logLine] = probe.stderr.split("\n");
    expect(JSON.parse(logLine ?? "")).toMatchObject({ level: "ERROR", fields: { error_code: "P1003" } });
  });

  it("deploys every migration onto a database it first creates", { timeout: TIMEOUT }, async () => {
    migrated = scratchDb(); // does not exist yet
    const deploy = await prismaOk(["migrate", "deploy"], migrated);
    expect(deploy.stdout).toContain("All migrations have been successfully applied.");

    const rows = await withPg(migrated, async (c) => {
      const result = await c.query<{ migration_name: string; checksum: string }>(
        `SELECT migration_name, checksum FROM _prisma_migrations
          WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
      );
      return result.rows;
    });
    // The same checksum the native engine records, so databases migrated either way agree.
    expect(rows).toEqual(
      migrationNames().map((name) => ({
        migration_name: name,
        checksum: sha256(path.join(MIGRATIONS, name, "migration.sql")),
      })),
    );

    const status = await prismaOk(["migrate", "status"], migrated);
    expect(status.stdout).toContain("Database schema is up to date!");
  });

  it(
    "finds no drift between the migrations and schema.prisma, and reports a real change",
    { timeout: TIMEOUT },
    async () => {
      const base = ["migrate", "diff", "--from-migrations", "prisma/migrations", "--exit-code"];
      await prismaOk([...base, "--to-schema", "prisma/schema.prisma"], "postgres");

      const changed = path.join(tmp, "changed.prisma");
      fs.writeFileSync(changed, changedSchema());
      const diff = await prisma([...base, "--to-schema", changed, "--script"], "postgres");
      expect(diff.code, diff.stderr).toBe(2);
      expect(diff.stdout).toContain('CREATE TABLE "shim_probe"');
    },
  );

  it("enforces the CHECK constraints of the init migration", { timeout: TIMEOUT }, async () => {
    await withPg(migrated, async (c) => {
      await c.query(`INSERT INTO products (sku, name, price_cents, currency) VALUES ('SKU-1', 'One', 100, 'EUR')`);
      await c.query(`INSERT INTO stock_levels (sku, on_hand, reserved) VALUES ('SKU-1', 5, 5)`);
      await c.query(`INSERT INTO orders (id, customer_id, total_cents, currency)
                     VALUES ('00000000-0000-4000-8000-000000000001', 'c1', 100, 'EUR')`);

      const rejects = async (sql: string, constraint: string) => {
        await c.query("SAVEPOINT s");
        await expect(c.query(sql)).rejects.toMatchObject({ code: "23514", constraint });
        await c.query("ROLLBACK TO SAVEPOINT s");
      };
      await c.query("BEGIN");
      await rejects(`UPDATE stock_levels SET reserved = 6`, "stock_levels_reserved_within_on_hand");
      await rejects(`UPDATE stock_levels SET on_hand = -1, reserved = 0`, "stock_levels_on_hand_non_negative");
      await rejects(`UPDATE stock_levels SET reserved = -1`, "stock_levels_reserved_non_negative");
      await rejects(`UPDATE products SET price_cents = -1`, "products_price_cents_non_negative");
      await rejects(`UPDATE products SET currency = 'eur'`, "products_currency_iso_4217");
      await rejects(`UPDATE orders SET total_cents = -1`, "orders_total_cents_non_negative");
      const item = (quantity: number, price: number) =>
        `INSERT INTO order_items (order_id, sku, quantity, unit_price_cents)
         VALUES ('00000000-0000-4000-8000-000000000001', 'SKU-1', ${quantity}, ${price})`;
      await rejects(item(0, 100), "order_items_quantity_between_1_and_1000");
      await rejects(item(1001, 100), "order_items_quantity_between_1_and_1000");
      await rejects(item(1, -1), "order_items_unit_price_cents_non_negative");
      await c.query(item(1000, 0)); // the edges themselves are allowed
      await c.query("ROLLBACK");
    });
  });

  it('notifies channel "outbox" once per inserting statement', { timeout: TIMEOUT }, async () => {
    await withPg(migrated, async (c) => {
      const notifications: pg.Notification[] = [];
      c.on("notification", (n) => notifications.push(n));
      await c.query("LISTEN outbox");
      const row = (n: number) => `(gen_random_uuid(), 'orders', 0, 'order', 'o${n}', 'OrderPlaced', '{}')`;
      await c.query(`INSERT INTO outbox (event_id, stream, lane, aggregate_type, aggregate_id, event_type, envelope)
                     VALUES ${row(1)}, ${row(2)}, ${row(3)}`);
      await expect.poll(() => notifications.length).toBe(1);
      // The payload names each row's stream and aggregate hash (agg_hash, filled in by the database
      // when the writer leaves it out), so a relay wakes only the partitions with new rows.
      const hashes = (await c.query(`SELECT outbox_fnv1a(unnest(ARRAY['o1', 'o2', 'o3'])) AS h`)).rows.map(
        (r: { h: string }) => `orders:${r.h}`,
      );
      expect(notifications[0]!.channel).toBe("outbox");
      expect(notifications[0]!.payload!.split(",").sort()).toEqual(hashes.sort());
    });
  });

  it("runs db execute and db pull --print", { timeout: TIMEOUT }, async () => {
    const script = `INSERT INTO products (sku, name, price_cents, currency) VALUES ('SKU-X', 'Executed', 1, 'USD');`;
    await prismaOk(["db", "execute", "--stdin"], migrated, { input: script });
    const names = await withPg(migrated, (c) => c.query(`SELECT name FROM products WHERE sku = 'SKU-X'`));
    expect(names.rows).toEqual([{ name: "Executed" }]);

    // Introspection reads the CHECK constraints too (the catalog's "char" columns).
    const pull = await prismaOk(["db", "pull", "--print"], migrated);
    expect(pull.stdout).toContain("model StockLevel {");
    expect(pull.stdout).toContain('@@map("stock_levels")');

    const failing = await prisma(["db", "execute", "--stdin"], migrated, {
      input: `UPDATE stock_levels SET reserved = on_hand + 1;`,
    });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain("stock_levels_reserved_within_on_hand");
  });

  it("resets a database and re-applies the migrations", { timeout: TIMEOUT }, async () => {
    await prismaOk(["migrate", "reset", "--force"], migrated);
    await withPg(migrated, async (c) => {
      expect((await c.query("SELECT count(*)::int AS n FROM products")).rows).toEqual([{ n: 0 }]);
      const applied = await c.query("SELECT migration_name FROM _prisma_migrations ORDER BY migration_name");
      expect(applied.rows.map((r: { migration_name: string }) => r.migration_name)).toEqual(migrationNames());
    });
  });

  it(
    "creates a migration with migrate dev --create-only (in a copy of the prisma folder)",
    { timeout: TIMEOUT },
    async () => {
      const project = path.join(tmp, "project");
      fs.cpSync(path.join(ROOT, "prisma"), path.join(project, "prisma"), { recursive: true });
      fs.writeFileSync(path.join(project, "prisma/schema.prisma"), changedSchema());
      const configModule = pathToFileURL(path.join(ROOT, "node_modules/prisma/config.js")).href;
      fs.writeFileSync(
        path.join(project, "prisma.config.ts"),
        `import { defineConfig } from ${JSON.stringify(configModule)};\n` +
          `export default defineConfig({ schema: "prisma/schema.prisma", migrations: { path: "prisma/migrations" },\n` +
          `  datasource: { url: process.env.DATABASE_URL } });\n`,
      );
      const before = migrationNames();

      // A new, empty database: migrate dev first applies the pending migrations, then diffs.
      const config = path.join(project, "prisma.config.ts");
      await prismaOk(["migrate", "dev", "--create-only", "--name", "shim_probe", "--config", config], scratchDb(), {
        env: { PRISMA_SCHEMA_ENGINE_BINARY: SHIM },
      });

      const created = fs.readdirSync(path.join(project, "prisma/migrations")).filter((n) => n.endsWith("_shim_probe"));
      expect(created).toHaveLength(1);
      const sql = fs.readFileSync(path.join(project, "prisma/migrations", created[0] ?? "", "migration.sql"), "utf8");
      expect(sql).toContain('CREATE TABLE "shim_probe"');
      expect(migrationNames()).toEqual(before); // the repo's migrations are untouched
    },
  );
});
