#!/usr/bin/env node
// A stand-in for Prisma's native `schema-engine` binary, built on the wasm schema engine that ships
// inside the `prisma` package. Prisma 7's CLI downloads the native binary on first use, so on a
// machine without internet access every `prisma migrate …` / `prisma db …` command fails. The CLI
// runs whatever PRISMA_SCHEMA_ENGINE_BINARY names (prisma.config.ts points it here), directly and
// without a shell: hence the shebang and the executable bit. Background and pitfalls:
// /work/shared/PRISMA-OFFLINE.md; the client side of the protocol: node_modules/prisma/build/cli.js.
//
// The CLI starts the engine in two ways:
//   1. one-shot: `--version`, or `--datasource <json> cli can-connect-to-database|create-database`.
//      Failures are JSON log lines on stderr (the CLI skips the first line) and exit code 1.
//   2. a JSON-RPC 2.0 server on stdin/stdout, one message per line, started with
//      `--datamodels <file>… --datasource <json>`. Requests go to the wasm engine, which does no
//      I/O of its own: it reaches PostgreSQL through @prisma/adapter-pg.
// In mode 2 stdout is the RPC channel: nothing else may ever be written to it.

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from "@prisma/driver-adapter-utils";
// The package's main entry imports the .wasm file as an ES module, which Node 20 refuses
// (ERR_UNKNOWN_FILE_EXTENSION). Its JS glue is importable; we instantiate the wasm ourselves.
import * as glue from "@prisma/schema-engine-wasm/schema_engine_bg";

// The wasm built together with the installed CLI (the engine commit its native binary would have).
// The glue comes from another build: when upgrading, re-check that imports and exports still match.
const prismaDir = path.dirname(createRequire(import.meta.url).resolve("prisma/package.json"));
const WASM_PATH = path.join(prismaDir, "build/schema_engine_bg.wasm");

// The wasm engine panics without a schema; `db execute` and `migrate diff` send none.
const PROVIDER_ONLY_SCHEMA = ["schema.prisma", 'datasource db {\n  provider = "postgresql"\n}\n'];

// Methods the wasm engine implements with the native engine's name and parameters.
const FORWARDED = new Set([
  "applyMigrations",
  "dbExecute",
  "devDiagnostic",
  "diagnoseMigrationHistory",
  "ensureConnectionValidity",
  "introspect",
  "introspectSql",
  "markMigrationApplied",
  "markMigrationRolledBack",
  "reset",
  "schemaPush",
]);

// ---- PostgreSQL helpers -------------------------------------------------------------------------

const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`;
const databaseOf = (url) => decodeURIComponent(new URL(url).pathname.slice(1));

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * pg options for a Prisma-style URL. Everything stays in the URL, because pg lets
 * `connectionString` override separate fields; Prisma's `?schema=` becomes the search_path.
 * One connection: the engine sends one query at a time, and session state such as the advisory
 * lock `migrate` takes must stay on one session.
 */
function pgConfig(url) {
  const u = new URL(url);
  const schema = u.searchParams.get("schema");
  if (schema && !u.searchParams.has("options")) u.searchParams.set("options", `-c search_path=${schema}`);
  return { connectionString: u.toString(), max: 1 };
}

async function withClient(url, fn) {
  const client = new pg.Client(pgConfig(url));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** CREATE/DROP DATABASE, run from the server's maintenance database. */
async function adminQuery(url, sql) {
  try {
    await withClient(withDatabase(url, "postgres"), (c) => c.query(sql));
  } catch (error) {
    if (error?.code !== "3D000") throw error; // no "postgres" database: template1 always exists
    await withClient(withDatabase(url, "template1"), (c) => c.query(sql));
  }
}

// ---- Mode 1: one-shot commands ------------------------------------------------------------------

/** A pg error as the Prisma error the CLI acts on (P1003 makes `migrate deploy` create the db). */
function describeConnectionError(error, url) {
  const u = new URL(URL.canParse(url) ? url : "postgresql://localhost");
  const server = `${u.hostname}:${u.port || 5432}`;
  const database = decodeURIComponent(u.pathname.slice(1));
  const user = decodeURIComponent(u.username);
  const byCode = {
    "3D000": ["P1003", `Database \`${database}\` does not exist on the database server at \`${server}\`.`],
    "28P01": [
      "P1000",
      `Authentication failed against database server at \`${server}\`, the provided database credentials for \`${user}\` are not valid.`,
    ],
    ECONNREFUSED: ["P1001", `Can't reach database server at \`${server}\``],
    "42P04": ["P1009", `Database \`${database}\` already exists on the database server at \`${server}\``],
  };
  byCode["28000"] = byCode["28P01"];
  byCode.ENOTFOUND = byCode.ETIMEDOUT = byCode.EHOSTUNREACH = byCode.ECONNREFUSED;
  const known = byCode[error?.code];
  return known ? { error_code: known[0], message: known[1] } : { message: String(error?.message ?? error) };
}

async function runOneShot(command, url) {
  try {
    if (!url) throw new Error("The datasource has no url: set DATABASE_URL.");
    if (command === "can-connect-to-database") await withClient(url, () => {});
    else if (command === "create-database") await adminQuery(url, `CREATE DATABASE ${quoteIdent(databaseOf(url))}`);
    else throw new Error(`Unknown command: cli ${command}`);
    return 0;
  } catch (error) {
    const fields = describeConnectionError(error, url);
    // Every stderr line after the first must parse as JSON: hence no trailing newline either.
    const line = JSON.stringify({ level: "ERROR", target: "schema_engine::logger", fields });
    process.stderr.write(`schema-engine (wasm shim): cli ${command} failed\n${line}`);
    return 1;
  }
}

// ---- Mode 2: the adapter the wasm engine talks through ------------------------------------------

/**
 * PostgreSQL's one-byte type `"char"` (oid 18: pg_constraint.contype, confdeltype, …) is unknown
 * to adapter-pg ("Column type 'char' could not be deserialized"). Reporting it as text is not
 * enough: the engine reads contype as a *character* and panics on text as soon as the database
 * has a CHECK constraint. So, once on the class that adapter-pg's adapter and transactions share:
 * performIO relabels those columns as text, and queryRaw then types them Character. Both see the
 * same rows array, which links the two calls.
 */
const charColumns = new WeakMap();
const charPatched = Symbol("char columns patched");
function typeCharColumns(queryable) {
  if (queryable[charPatched]) return;
  queryable[charPatched] = true;
  const { performIO, queryRaw } = queryable;
  queryable.performIO = async function (query) {
    const result = await performIO.call(this, query);
    const indexes = result.fields.flatMap((field, i) => (field.dataTypeID === 18 ? [i] : []));
    for (const i of indexes) result.fields[i].dataTypeID = 25;
    if (indexes.length) charColumns.set(result.rows, indexes);
    return result;
  };
  queryable.queryRaw = async function (query) {
    const result = await queryRaw.call(this, query);
    for (const i of charColumns.get(result.rows) ?? []) result.columnTypes[i] = ColumnTypeEnum.Character;
    return result;
  };
}

async function connectAdapter(url) {
  const adapter = await new PrismaPg(pgConfig(url)).connect();
  typeCharColumns(Object.getPrototypeOf(Object.getPrototypeOf(adapter))); // PrismaPgAdapter → PgQueryable
  // adapter-pg splits scripts on ";", breaking $$ bodies and DO blocks: send migrations whole.
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      adapter.onError(error); // throws the adapter's DriverAdapterError, like executeScript would
    }
  };
  return adapter;
}

/**
 * The adapter factory for the engine. Shadow databases are ours to provide: PrismaPg's own
 * connectToShadowDb keeps the main database in its connection string (which wins over the
 * `database` it sets), so the shadow SQL would run on the main database. A temporary shadow
 * database is dropped when disposed, or at the latest when its request is done (`dropAll`).
 */
function createAdapterFactory({ url, shadowDatabaseUrl }) {
  const temporary = new Set();
  const drop = async (entry) => {
    if (!temporary.delete(entry)) return;
    await entry.dispose().catch(() => {});
    await adminQuery(url, `DROP DATABASE IF EXISTS ${quoteIdent(entry.name)}`).catch((error) => {
      log("WARN", `could not drop shadow database ${entry.name}: ${error.message}`);
    });
  };
  const factory = bindMigrationAwareSqlAdapterFactory({
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    connect: () => connectAdapter(url),
    async connectToShadowDb() {
      if (shadowDatabaseUrl) return connectAdapter(await emptyShadowDb(url, shadowDatabaseUrl));
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      await adminQuery(url, `CREATE DATABASE ${quoteIdent(name)}`);
      const adapter = await connectAdapter(withDatabase(url, name));
      const entry = { name, dispose: adapter.dispose.bind(adapter) };
      temporary.add(entry);
      adapter.dispose = () => drop(entry);
      return adapter;
    },
  });
  return Object.assign(factory, { dropAll: () => Promise.all([...temporary].map(drop)) });
}

/** A configured shadow database is emptied first, as the native engine does (the wasm does not). */
async function emptyShadowDb(url, shadowUrl) {
  const where = (u) => new URL(u).host + new URL(u).pathname;
  if (where(url) === where(shadowUrl)) {
    throw new Error("The shadow database you configured appears to be the same as the main database.");
  }
  const schema = quoteIdent(new URL(shadowUrl).searchParams.get("schema") ?? "public");
  await withClient(shadowUrl, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`));
  return shadowUrl;
}

// ---- Mode 2: the JSON-RPC server ----------------------------------------------------------------

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** A log line in the engine's format: the CLI keeps their messages for the errors it shows. */
function log(level, message) {
  process.stderr.write(`${JSON.stringify({ level, fields: { message }, target: "schema_engine_shim" })}\n`);
}

async function loadWasm() {
  const { instance } = await WebAssembly.instantiate(readFileSync(WASM_PATH), { "./schema_engine_bg.js": glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue;
}

/** The native engine's error object (code 4466) for anything the engine or adapter threw. */
function toRpcError(error, factory, panicMessage) {
  if (panicMessage !== undefined) {
    return { code: 4466, message: panicMessage, data: { is_panic: true, message: panicMessage } };
  }
  // Errors the adapter could not classify sit in a registry and arrive as a reference to it.
  const message = String(error?.message ?? error).replace(/External error id#(\d+)/g, (ref, id) => {
    const external = factory?.errorRegistry.consumeError(Number(id))?.error;
    return external ? `${ref}: ${external.message ?? external}` : ref;
  });
  const data = { is_panic: false, message: message.trimEnd() };
  if (typeof error?.code === "string") data.error_code = error.code;
  if (error?.meta !== undefined) data.meta = error.meta;
  return { code: 4466, message: "An error happened. Check the data field for details.", data };
}

/**
 * The wasm has no shadow-database factory for these two: they read a cache that devDiagnostic
 * fills. `migrate dev` meets this right after applying a pending migration (e.g. one pulled from a
 * teammate): fill the cache, then try once more.
 */
async function withShadowCache(engine, method, params) {
  try {
    return await engine[method](params);
  } catch (error) {
    if (!/shadow DB must be provided through an external factory/.test(String(error?.message))) throw error;
    log("INFO", `${method}: filling the shadow schema cache through devDiagnostic, then retrying`);
    await engine.devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters });
    return engine[method](params);
  }
}

let printId = 0;
/** One RPC request, answered by the wasm engine (or by pg where the wasm has no such method). */
async function dispatch(getEngine, datasource, method, params) {
  if (method === "createDatabase") {
    const url = params?.datasource?.tag === "ConnectionString" ? params.datasource.url : datasource?.url;
    await adminQuery(url, `CREATE DATABASE ${quoteIdent(databaseOf(url))}`);
    return { databaseName: databaseOf(url) };
  }
  const engine = await getEngine();
  switch (method) {
    case "getDatabaseVersion":
      return engine.version(); // the adapter decides the database; the wasm ignores params
    case "debugPanic":
      return engine.debugPanic();
    case "diff": {
      // The wasm returns the text to print. Our stdout being the RPC channel, the CLI prints it for
      // us on a "print" request (which is also how `migrate diff --output` captures it).
      const { exitCode, stdout } = await engine.diff(params);
      if (stdout) send({ jsonrpc: "2.0", id: `print-${++printId}`, method: "print", params: { content: stdout } });
      return { exitCode };
    }
    case "createMigration":
    case "evaluateDataLoss":
      return withShadowCache(engine, method, params);
    default:
      if (!FORWARDED.has(method)) throw new Error(`The wasm schema engine has no method ${method}.`);
      return engine[method](params);
  }
}

function runRpcServer(datamodelFiles, datasource) {
  let panicMessage; // set by the wasm's panic hook just before it traps
  globalThis.PRISMA_WASM_PANIC_REGISTRY = {
    set_message(message) {
      panicMessage = message;
      log("ERROR", message);
    },
  };
  const panicked = (error) => panicMessage !== undefined || error instanceof WebAssembly.RuntimeError;

  const datamodels = datamodelFiles.length
    ? datamodelFiles.map((file) => [file, readFileSync(file, "utf8")])
    : [PROVIDER_ONLY_SCHEMA];
  const factory = datasource?.url ? createAdapterFactory(datasource) : undefined;

  // Started by the first request (SchemaEngine.new connects), so a connection error is its reply.
  let enginePromise;
  const getEngine = () =>
    (enginePromise ??= (async () => {
      if (!factory) throw new Error("The datasource has no url: set DATABASE_URL (see prisma.config.ts).");
      const { SchemaEngine } = await loadWasm();
      return SchemaEngine.new({ datamodels }, (line) => process.stderr.write(`${line.trimEnd()}\n`), factory);
    })());

  let exiting = false;
  const shutdown = async (code) => {
    if (exiting) return;
    exiting = true;
    await factory?.dropAll();
    process.stdout.write("", () => process.exit(code)); // once pending replies are flushed
  };

  let inFlight; // the id of the request being handled
  const fail = (id, error) => {
    const panic = panicked(error) ? (panicMessage ?? String(error)) : undefined;
    send({ jsonrpc: "2.0", id, error: toRpcError(error, factory, panic) });
  };
  const handle = async ({ id, method, params }) => {
    inFlight = id;
    try {
      send({ jsonrpc: "2.0", id, result: (await dispatch(getEngine, datasource, method, params)) ?? {} });
    } catch (error) {
      fail(id, error);
      if (panicked(error)) await shutdown(101); // a trapped wasm instance is unusable; native exits 101
    } finally {
      inFlight = undefined;
      await factory?.dropAll();
    }
  };

  let queue = Promise.resolve();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    const message = JSON.parse(line);
    if (typeof message.method !== "string") return; // the CLI's replies to our "print" requests
    queue = queue.then(() => handle(message)); // one request at a time, in order
  });
  // The CLI stops the engine by closing stdin, then (almost at once) SIGTERM: finish, then leave.
  lines.on("close", () => queue.then(() => shutdown(0)));
  process.on("SIGTERM", () => shutdown(0));
  // Some panics escape the engine's promises: answer the request they belong to all the same.
  process.on("uncaughtException", (error) => {
    if (inFlight !== undefined && !exiting) fail(inFlight, error);
    else log("ERROR", String(error?.stack ?? error));
    shutdown(panicked(error) ? 101 : 1);
  });
}

// ---- Entry point --------------------------------------------------------------------------------

/** `--flag value` pairs (repeatable: `--datamodels a --datamodels b`) and positional words. */
function parseArgs(argv) {
  const flags = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--version" || argv[i] === "-V") flags.version = [true];
    else if (argv[i].startsWith("--")) (flags[argv[i].slice(2)] ??= []).push(argv[++i]);
    else positional.push(argv[i]);
  }
  return { flags, positional };
}

const { flags, positional } = parseArgs(process.argv.slice(2));
console.log = console.info = console.debug = console.error; // keep stray output off the RPC channel
const datasource = flags.datasource ? JSON.parse(flags.datasource.at(-1)) : undefined;
if (flags.version) {
  const { version } = await loadWasm();
  process.stdout.write(`schema-engine-cli ${version()} (wasm shim)\n`);
} else if (positional[0] === "cli") {
  process.exitCode = await runOneShot(positional[1], datasource?.url);
} else {
  runRpcServer(flags.datamodels ?? [], datasource);
}
