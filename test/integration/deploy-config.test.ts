// Offline checks of the deployment files: no Docker engine, no network.
//
// docker-compose.yml
//   - validated against the official Compose Specification JSON schema (the copy dclint ships and keeps
//     up to date: node_modules/dclint/schemas/compose.schema.json), with every error listed;
//   - linted by dclint (a docker-compose linter) with the rule set below;
//   - and checked against this project's own rules: one image build shared by every app service, one
//     service per role (plus a single-container `app` in an opt-in profile), migrations as a one-shot job
//     the app waits for, health checks on the port each role serves them on, Redis persistence, data
//     volumes, and an app environment that the app's own config parser (src/config.ts) accepts.
// deploy/nginx/nginx.conf (the `proxy` service in front of the api replicas)
//   - the upstream is the api service on its port, WebSocket upgrade headers are forwarded, responses
//     are not buffered (SSE) and read timeouts outlast idle subscriptions; it runs unprivileged on a
//     read-only root with its writable paths on the tmpfs.
// Dockerfile
//   - linted by dockerfile-utils (the validator behind the Docker language server);
//   - multi-stage, non-root final stage, pinned base images, npm ci from the lockfile, and every file it
//     copies exists and is not dropped by .dockerignore.
//
// YAML is parsed as Compose reads it: merge keys (`<<: *anchor`) resolved, duplicate keys rejected,
// `${VAR:-default}` interpolated with an empty environment (what `docker compose config` does on a
// machine with no variables set).

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject } from "ajv";
import { DCLinter } from "dclint";
import { validate as lintDockerfile } from "dockerfile-utils";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

// ---------------------------------------------------------------------------------------------------
// Compose: loading as Compose does
// ---------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Dict = { [key: string]: Json };

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface DependsOn {
  condition: string;
}
interface Service {
  image?: string;
  profiles?: string[];
  deploy?: { replicas?: number };
  user?: string;
  read_only?: boolean;
  tmpfs?: string | string[];
  cap_drop?: string[];
  build?: string | Dict;
  command?: string | string[];
  environment?: Dict | string[];
  depends_on?: string[] | Record<string, DependsOn>;
  healthcheck?: Healthcheck;
  restart?: string;
  ports?: (string | number | Dict)[];
  volumes?: (string | Dict)[];
  init?: boolean;
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, Json>;
  [extension: `x-${string}`]: Json;
}

/** The parsed YAML before interpolation: what the schema is applied to (as dclint and Compose do). */
function parseComposeYaml(text: string): unknown {
  // merge: resolve `<<` keys like Compose; uniqueKeys (default) makes a duplicated key an error.
  return parseYaml(text, { merge: true, maxAliasCount: 1000 });
}

/**
 * Compose interpolation with an empty environment: `${VAR:-d}` / `${VAR-d}` give d, `${VAR}` and
 * `${VAR:+x}` give "", `${VAR:?msg}` is an error (a required variable), `$$` is a literal `$`.
 */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (match === "$$") return "$";
      const name = (braced ?? bare)!;
      const val = env[name];
      const set = op?.startsWith(":") ? val !== undefined && val !== "" : val !== undefined;
      switch (op?.replace(":", "")) {
        case "-":
          return set ? val! : arg!;
        case "?":
          if (!set) throw new Error(`required variable ${name} is not set: ${arg}`);
          return val!;
        case "+":
          return set ? arg! : "";
        default:
          return val ?? "";
      }
    },
  );
}

function interpolateDeep<T>(value: T): T {
  if (typeof value === "string") return interpolate(value) as T;
  if (Array.isArray(value)) return value.map(interpolateDeep) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v)])) as T;
  }
  return value;
}

const composeText = read("docker-compose.yml");
const composeRaw = parseComposeYaml(composeText);
const compose = interpolateDeep(composeRaw) as ComposeFile;
const services = compose.services ?? {};

/** Services from upstream images; every other service is built from this repo. */
const INFRA = new Set(["postgres", "redis", "proxy", "prometheus", "grafana"]);
const appServiceNames = Object.keys(services).filter((name) => !INFRA.has(name));
const isOneShot = (s: Service) => s.restart === "no";
const roleServiceNames = appServiceNames.filter((name) => !isOneShot(services[name]!));
/** What `docker compose up` starts: services in no profile. */
const inDefaultLayout = (name: string) => (services[name]!.profiles ?? []).length === 0;

function dependsOn(s: Service): Record<string, DependsOn> {
  const d = s.depends_on ?? {};
  // The short (list) form means `service_started` for each.
  return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, { condition: "service_started" }])) : d;
}

function environment(s: Service): Record<string, string | undefined> {
  const e = s.environment ?? {};
  if (Array.isArray(e)) {
    return Object.fromEntries(e.map((kv) => (kv.includes("=") ? kv.split(/=(.*)/s).slice(0, 2) : [kv, undefined])));
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

const words = (command: string | string[] | undefined) =>
  (Array.isArray(command) ? command.join(" ") : (command ?? "")).split(/\s+/).filter(Boolean);

function hasLiveHealthcheck(s: Service): boolean {
  const test = s.healthcheck?.test;
  if (s.healthcheck?.disable || test === undefined) return false;
  return !(Array.isArray(test) ? test[0] === "NONE" : test === "NONE");
}

/** `repo[:tag][@digest]` → the tag and digest, if any (a registry port is not a tag). */
function imageRef(image: string): { tag?: string; digest?: string } {
  const [nameAndTag, digest] = image.split("@");
  const lastSegment = nameAndTag!.split("/").pop()!;
  const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
  return { tag, digest };
}

// ---------------------------------------------------------------------------------------------------
// Compose: schema + linter
// ---------------------------------------------------------------------------------------------------

const require = createRequire(import.meta.url);
// The schema file is not in dclint's `exports`, so locate it from the package root.
const composeSchemaPath = path.join(
  path.dirname(require.resolve("dclint/package.json")),
  "schemas/compose.schema.json",
);

function composeSchemaValidator() {
  const schema = JSON.parse(readFileSync(composeSchemaPath, "utf8")) as Record<string, unknown>;
  // Ajv's draft-07 support is built in; the `$schema` URL form used upstream is not a registered id.
  delete schema.$schema;
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  return ajv.compile(schema);
}

function formatSchemaErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || "/"}: ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`)
    .join("\n");
}

/**
 * dclint rules: errors fail the build, so every rule is either enforced (2) or off (0) with a reason.
 * Rules read the YAML as written, without resolving merge keys.
 */
const DCLINT_RULES: ConstructorParameters<typeof DCLinter>[0]["rules"] = {
  "no-build-and-image": 2, // satisfied: build + image is allowed together with `pull_policy`
  "no-duplicate-container-names": 2,
  "no-duplicate-exported-ports": 2,
  "no-quotes-in-volumes": 2,
  // Published ports must name an interface; the app's 4000 is public on purpose (marked in the file).
  "no-unbound-port-interfaces": 2,
  "no-version-field": 2,
  "require-project-name-field": 2,
  "require-quotes-in-ports": [2, { quoteType: "double" }],
  "service-container-name-regex": 2,
  "service-dependencies-alphabetical-order": 2,
  "service-image-require-explicit-tag": 2,
  // Off: it wants `<<: *anchor` last in a service; we keep the base first, as readers expect.
  "service-keys-order": 0,
  "service-ports-alphabetical-order": 2,
  "services-alphabetical-order": 2,
  "top-level-properties-order": 2,
};

function lintCompose(file: string) {
  const linter = new DCLinter({ rules: DCLINT_RULES, quiet: true, debug: false, exclude: [] });
  const [result] = linter.lintFiles([file], false);
  const messages = result?.messages ?? [];
  return messages.map((m) => `${path.basename(file)}:${m.line} ${m.rule}: ${m.message}`);
}

describe("docker-compose.yml: Compose Specification and linter", () => {
  const validateCompose = composeSchemaValidator();

  it("is valid against the Compose Specification schema", () => {
    const ok = validateCompose(composeRaw);
    expect(formatSchemaErrors(validateCompose.errors), "schema errors").toBe("");
    expect(ok).toBe(true);
  });

  it("is still valid once variables are interpolated with their defaults", () => {
    expect(() => interpolateDeep(composeRaw)).not.toThrow();
    const ok = validateCompose(compose);
    expect(formatSchemaErrors(validateCompose.errors), "schema errors").toBe("");
    expect(ok).toBe(true);
  });

  it("the schema check really rejects invalid files (guards against a validator that passes anything)", () => {
    const valid = {
      services: {
        a: { image: "busybox:1", depends_on: { b: { condition: "service_healthy" } } },
        b: { image: "busybox:1" },
      },
    };
    expect(validateCompose(valid), formatSchemaErrors(validateCompose.errors)).toBe(true);
    const badCondition = structuredClone(valid);
    badCondition.services.a.depends_on.b.condition = "healthy";
    expect(validateCompose(badCondition)).toBe(false);
    expect(validateCompose({ ...valid, services: { a: { image: "busybox:1", not_a_compose_key: 1 } } })).toBe(false);
    expect(validateCompose({ ...valid, not_a_top_level_key: {} })).toBe(false);
  });

  it("passes dclint", () => {
    expect(lintCompose(path.join(root, "docker-compose.yml"))).toEqual([]);
  });

  it("dclint reports schema violations too", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "compose-lint-"));
    try {
      const file = path.join(dir, "docker-compose.yml");
      writeFileSync(file, 'name: t\nservices:\n  a:\n    image: "busybox:1"\n    not_a_compose_key: 1\n');
      expect(lintCompose(file).join("\n")).toMatch(/invalid-schema/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Compose: project rules
// ---------------------------------------------------------------------------------------------------

describe("docker-compose.yml: project rules", () => {
  it("has a service per role, the proxy, migrate, the stores, and the single-container app on request", () => {
    expect(Object.keys(services).sort()).toEqual(
      expect.arrayContaining(["api", "app", "inventory", "migrate", "orders", "postgres", "proxy", "redis", "relay"]),
    );
    expect(compose.name).toBe("order-gateway");
    // The all-in-one container is the alternative, not part of `docker compose up`.
    expect(services.app!.profiles ?? [], "app is in a profile").not.toEqual([]);
    for (const name of ["api", "inventory", "migrate", "orders", "postgres", "proxy", "redis", "relay"]) {
      expect(inDefaultLayout(name), `${name} starts with docker compose up`).toBe(true);
    }
  });

  it("in the default layout each role runs as its own service, named after it; api and inventory have replicas", async () => {
    const { loadConfig, ROLES } = await import("../../src/config.ts");
    const roleServices = roleServiceNames.filter(inDefaultLayout);
    const roles = roleServices.map((name) => {
      const cfg = loadConfig({ NODE_ENV: "production", ...environment(services[name]!) });
      expect(cfg.ROLES, `${name}: exactly one role`).toHaveLength(1);
      expect(cfg.ROLES[0], `${name} runs the role it is named after`).toBe(name);
      return cfg.ROLES[0];
    });
    expect(roles.sort()).toEqual([...ROLES].sort());
    expect(services.api!.deploy?.replicas, "api replicas").toBeGreaterThanOrEqual(2);
    expect(services.inventory!.deploy?.replicas, "inventory replicas").toBeGreaterThanOrEqual(2);
    // The single-container alternative runs every role.
    expect(loadConfig({ NODE_ENV: "production", ...environment(services.app!) }).ROLES.sort()).toEqual(
      [...ROLES].sort(),
    );
  });

  it("every app service runs the same build of this repo's Dockerfile", () => {
    const base = compose["x-app"] as Service | undefined;
    expect(base, "x-app anchor").toBeDefined();
    expect(base!.build).toBeDefined();
    expect(base!.image).toBeTruthy();
    const build = typeof base!.build === "string" ? { context: base!.build } : base!.build!;
    const context = String(build.context ?? ".");
    expect(existsSync(path.join(root, context, String(build.dockerfile ?? "Dockerfile")))).toBe(true);

    expect(appServiceNames.length).toBeGreaterThanOrEqual(2);
    for (const name of appServiceNames) {
      const s = services[name]!;
      expect(s.build, `${name}.build`).toEqual(base!.build);
      expect(s.image, `${name}.image`).toBe(base!.image);
      // tini as PID 1 so SIGTERM reaches the app's graceful shutdown.
      expect(s.init, `${name}.init`).toBe(true);
    }
    // Only app services are built; infrastructure comes from pinned upstream images.
    for (const name of INFRA) expect(services[name]!.build, `${name}.build`).toBeUndefined();
  });

  it("every image has an explicit tag, never latest", () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, `${name}.image`).toBeTruthy();
      const { tag, digest } = imageRef(s.image!);
      expect(tag ?? digest, `${name}: ${s.image} has no tag`).toBeTruthy();
      expect(tag, `${name}: ${s.image}`).not.toBe("latest");
    }
  });

  it("every dependency exists and its condition can be met", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(dependsOn(s))) {
        const t = services[target];
        expect(t, `${name} depends on unknown service ${target}`).toBeDefined();
        if (condition === "service_healthy") {
          const why = `${name} waits for ${target} to be healthy, which has no healthcheck`;
          expect(hasLiveHealthcheck(t!), why).toBe(true);
        }
        if (condition === "service_completed_successfully") {
          expect(t!.restart, `${name} waits for ${target} to complete, so it must be one-shot`).toBe("no");
        }
      }
    }
    // No cycles: Compose would refuse to start.
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, trail: string[]) => {
      if (done.has(name)) return;
      expect(visiting.has(name), `dependency cycle: ${[...trail, name].join(" -> ")}`).toBe(false);
      visiting.add(name);
      for (const target of Object.keys(dependsOn(services[name] ?? {}))) visit(target, [...trail, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const name of Object.keys(services)) visit(name, []);
  });

  it("migrate is a one-shot job: migrations then the seed, after Postgres is healthy", () => {
    const migrate = services.migrate!;
    expect(migrate.restart).toBe("no");
    expect(dependsOn(migrate).postgres?.condition).toBe("service_healthy");
    const cmd = words(migrate.command).join(" ");
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    // Either the commands themselves or the package.json scripts that run them.
    const runs = (script: string, what: RegExp) =>
      what.test(cmd) || (new RegExp(`\\b${script}\\b`).test(cmd) && what.test(scripts[script] ?? ""));
    const migrates = runs("db:migrate", /prisma migrate deploy/);
    const seeds = runs("db:seed", /prisma\/seed\.ts/);
    expect(migrates, `migrate command runs prisma migrate deploy: ${cmd}`).toBe(true);
    expect(seeds, `migrate command runs the seed: ${cmd}`).toBe(true);
    expect(cmd.indexOf("migrate") < cmd.lastIndexOf("seed"), "migrations run before the seed").toBe(true);
    // The seed only runs if migrations succeeded.
    expect(cmd).toMatch(/&&/);
    // Serves no HTTP, so the image's HTTP health check must not apply.
    expect(hasLiveHealthcheck(migrate)).toBe(false);
    expect(migrate.ports ?? []).toEqual([]);
  });

  it("every long-running app service waits for migrate, Postgres and Redis", () => {
    expect(roleServiceNames).toContain("app");
    for (const name of roleServiceNames) {
      const deps = dependsOn(services[name]!);
      expect(deps.migrate?.condition, `${name} -> migrate`).toBe("service_completed_successfully");
      expect(deps.redis?.condition, `${name} -> redis`).toBe("service_healthy");
      expect(deps.postgres?.condition, `${name} -> postgres`).toBe("service_healthy");
    }
  });

  it("every long-running service has a health check and a restart policy", async () => {
    for (const [name, s] of Object.entries(services)) {
      if (isOneShot(s)) continue;
      expect(hasLiveHealthcheck(s), `${name} healthcheck`).toBe(true);
      expect(["always", "unless-stopped", "on-failure"], `${name}.restart`).toContain(s.restart);
    }
    expect(words(services.postgres!.healthcheck!.test)).toContain("pg_isready");
    expect(words(services.redis!.healthcheck!.test).join(" ")).toMatch(/redis-cli ping/);
    const { loadConfig } = await import("../../src/config.ts");
    for (const name of roleServiceNames) {
      // The runtime image is slim: no curl or wget. Node's fetch against /health.
      const test = services[name]!.healthcheck!.test!;
      expect(Array.isArray(test) ? test[0] : "", `${name}: exec form`).toBe("CMD");
      expect(words(test)[1], `${name}: probe with node`).toBe("node");
      // The api serves /health on PORT; a process without the api role on HEALTH_PORT.
      const cfg = loadConfig({ NODE_ENV: "production", PORT: "4000", ...environment(services[name]!) });
      const port = cfg.ROLES.includes("api") ? cfg.PORT : cfg.HEALTH_PORT;
      expect(words(test).join(" "), `${name}: probes /health on ${port}`).toMatch(
        new RegExp(`127\\.0\\.0\\.1:${port}/health\\b`),
      );
    }
  });

  it("Redis persists with the append-only file, and both stores keep data on named volumes", () => {
    const redisArgs = words(services.redis!.command);
    const i = redisArgs.indexOf("--appendonly");
    expect(i, "redis command sets --appendonly").toBeGreaterThanOrEqual(0);
    expect(redisArgs[i + 1]).toBe("yes");

    const declared = Object.keys(compose.volumes ?? {});
    const mounts = (name: string) =>
      (services[name]!.volumes ?? []).map((v) =>
        typeof v === "string"
          ? { source: v.split(":")[0], target: v.split(":")[1] }
          : { source: v.source, target: v.target },
      );
    for (const [name, target] of [
      ["postgres", "/var/lib/postgresql/data"],
      ["redis", "/data"],
    ] as const) {
      const m = mounts(name).find((v) => v.target === target);
      expect(m, `${name} mounts a volume at ${target}`).toBeDefined();
      expect(declared, `${name}: ${String(m!.source)} is a declared named volume`).toContain(m!.source);
    }
    // Every named volume used anywhere is declared (the schema does not check that).
    for (const name of Object.keys(services)) {
      for (const { source } of mounts(name)) {
        const named = typeof source === "string" && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(source);
        if (named) expect(declared, `${name}: volume ${source}`).toContain(source);
      }
    }
  });

  it("the proxy publishes 4000; api replicas, workers, Postgres and Redis publish nothing", () => {
    const published = (s: Service) =>
      (s.ports ?? []).map((p) => (typeof p === "object" ? String(p.published) : String(p).split(":").at(-2)));
    const target = (s: Service) =>
      (s.ports ?? []).map((p) => (typeof p === "object" ? String(p.target) : String(p).split(":").pop()));
    expect(published(services.proxy!)).toEqual(["4000"]);
    for (const name of Object.keys(services).filter(inDefaultLayout)) {
      // Replicas cannot share a host port: everything reaches the api through the proxy.
      if (name !== "proxy") expect(services[name]!.ports ?? [], name).toEqual([]);
    }
    // The single-container alternative: the api's port, published where it cannot collide with the proxy.
    expect(target(services.app!)).toEqual(["4000"]);
    expect(published(services.app!)).not.toContain("4000");
  });

  it("app services reach Postgres and Redis by name, and the app's config parser accepts their environment", async () => {
    const { loadConfig } = (await import("../../src/config.ts")) as {
      loadConfig: (env: Record<string, string | undefined>) => unknown;
    };
    const pg = services.postgres!.environment as Dict;
    for (const name of appServiceNames) {
      const env = environment(services[name]!);
      const db = new URL(env.DATABASE_URL ?? "");
      expect(db.hostname, `${name}: DATABASE_URL host`).toBe("postgres");
      expect(db.pathname, `${name}: DATABASE_URL database`).toBe(`/${String(pg.POSTGRES_DB)}`);
      expect(decodeURIComponent(db.username)).toBe(String(pg.POSTGRES_USER));
      expect(decodeURIComponent(db.password), `${name}: same password as Postgres`).toBe(String(pg.POSTGRES_PASSWORD));
      expect(new URL(env.REDIS_URL ?? "").hostname, `${name}: REDIS_URL host`).toBe("redis");
      // NODE_ENV comes from the image (production) unless a service overrides it; it must not.
      expect(env.NODE_ENV ?? "production", `${name}: NODE_ENV`).toBe("production");
      // What the container sees: the image's ENV, then the service's environment.
      expect(() => loadConfig({ NODE_ENV: "production", PORT: "4000", ...env }), `${name}: config`).not.toThrow();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The proxy: deploy/nginx/nginx.conf
// ---------------------------------------------------------------------------------------------------

interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

/** nginx's config syntax: `name args;` or `name args { ... }`, `#` comments, quoted strings. */
function parseNginx(text: string): NginxDirective[] {
  const tokens = [
    ...text.replace(/#[^\n]*/g, "").matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};]+)/g),
  ].map((m) => ({ text: m[1] ?? m[2] ?? m[3] ?? m[4]!, punct: m[3] !== undefined }));
  let i = 0;
  const parseBlock = (nested: boolean): NginxDirective[] => {
    const out: NginxDirective[] = [];
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if (t.punct && t.text === "}") {
        if (!nested) throw new Error("unbalanced }");
        return out;
      }
      if (t.punct) throw new Error(`unexpected ${t.text}`);
      const args: string[] = [];
      while (i < tokens.length && !tokens[i]!.punct) args.push(tokens[i++]!.text);
      const end = tokens[i++];
      if (end?.text === ";") out.push({ name: t.text, args });
      else if (end?.text === "{") out.push({ name: t.text, args, block: parseBlock(true) });
      else throw new Error(`directive ${t.text} is not terminated`);
    }
    if (nested) throw new Error("unbalanced {");
    return out;
  };
  return parseBlock(false);
}

const find = (list: NginxDirective[] | undefined, name: string) => (list ?? []).filter((d) => d.name === name);
const arg = (list: NginxDirective[] | undefined, name: string) => find(list, name)[0]?.args;

/** nginx time: "1h", "90s", "3600" (seconds) → seconds. */
function nginxSeconds(value: string | undefined): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value ?? "");
  if (!m) return Number.NaN;
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  return Number(m[1]) * unit[m[2] ?? "s"]!;
}

describe("deploy/nginx/nginx.conf: the proxy in front of the api replicas", () => {
  const proxy = services.proxy!;
  const mounts = (proxy.volumes ?? []).map((v) =>
    typeof v === "string" ? v.split(":") : [v.source, v.target, v.read_only ? "ro" : ""],
  );
  const confMount = mounts.find((m) => m[1] === "/etc/nginx/nginx.conf");
  const confFile = String(confMount?.[0] ?? "");
  // Parsed here, reported by the "parses" test: a syntax error must fail that test, not the whole file.
  let conf: NginxDirective[] = [];
  let parseError: unknown;
  try {
    conf = parseNginx(existsSync(path.join(root, confFile)) ? read(confFile) : "");
  } catch (err) {
    parseError = err;
  }
  const http = find(conf, "http")[0]?.block;
  const servers = find(http, "server").map((s) => s.block!);
  const locations = servers.flatMap((s) => find(s, "location"));
  const proxied = locations.filter((l) => find(l.block, "proxy_pass").length > 0);

  it("is the nginx.conf in this repo, mounted read-only, for a pinned nginx image", () => {
    expect(confMount, "mounts a file at /etc/nginx/nginx.conf").toBeDefined();
    expect(path.normalize(confFile)).toBe("deploy/nginx/nginx.conf");
    expect(existsSync(path.join(root, confFile))).toBe(true);
    expect(confMount![2], "read-only").toBe("ro");
    expect(proxy.image).toMatch(/^nginx:\d+\.\d+[\w.-]*$/);
    expect(dependsOn(proxy).api?.condition, "proxy waits for a healthy api").toBe("service_healthy");
  });

  it("parses: directives terminated, braces balanced, an http block with a server", () => {
    expect(parseError, String(parseError)).toBeUndefined();
    expect(() => parseNginx("http { server { listen 80; }")).toThrow();
    expect(() => parseNginx("http { listen 80 }")).toThrow();
    expect(http, "http block").toBeDefined();
    expect(servers.length).toBeGreaterThan(0);
  });

  it("listens on the port the proxy service publishes", () => {
    const listens = servers.flatMap((s) => find(s, "listen").map((l) => l.args[0]!.split(":").pop()));
    const targets = (proxy.ports ?? []).map((p) =>
      typeof p === "object" ? String(p.target) : String(p).split(":").pop(),
    );
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect(listens).toContain(t);
  });

  it("load-balances an upstream that lists the api service on the api's port", async () => {
    const { loadConfig } = await import("../../src/config.ts");
    const apiPort = loadConfig({ NODE_ENV: "production", PORT: "4000", ...environment(services.api!) }).PORT;
    const upstreams = find(http, "upstream");
    expect(upstreams.length).toBeGreaterThan(0);
    const apiUpstream = upstreams.find((u) => find(u.block, "server").some((s) => s.args[0] === `api:${apiPort}`));
    expect(apiUpstream, `an upstream with server api:${apiPort}`).toBeDefined();
    // Every upstream server is a service of this file.
    for (const u of upstreams) {
      for (const s of find(u.block, "server"))
        expect(Object.keys(services), s.args[0]).toContain(s.args[0]!.split(":")[0]);
    }
    // A re-resolved name needs a resolver (Docker's embedded DNS) and a shared-memory zone.
    if (find(apiUpstream!.block, "server").some((s) => s.args.includes("resolve"))) {
      expect(arg(http, "resolver")?.[0]).toBe("127.0.0.11");
      expect(find(apiUpstream!.block, "zone")).toHaveLength(1);
    }
    expect(proxied.length).toBeGreaterThan(0);
    for (const l of proxied) {
      expect(arg(l.block, "proxy_pass")?.[0], `location ${l.args.join(" ")}`).toBe(`http://${apiUpstream!.args[0]}`);
    }
    // The whole API is behind it: / (or /graphql) goes to the api.
    expect(proxied.map((l) => l.args.at(-1))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\/(graphql)?$/)]),
    );
  });

  it("forwards WebSocket upgrades (graphql-ws): HTTP/1.1 with Upgrade and Connection headers", () => {
    const maps = find(http, "map").filter((m) => m.args[0] === "$http_upgrade");
    for (const l of proxied) {
      const where = `location ${l.args.join(" ")}`;
      expect(arg(l.block, "proxy_http_version")?.[0], `${where} proxy_http_version`).toBe("1.1");
      const headers = Object.fromEntries(
        find(l.block, "proxy_set_header").map((h) => [h.args[0]!.toLowerCase(), h.args[1]]),
      );
      expect(headers.upgrade, `${where} Upgrade header`).toBe("$http_upgrade");
      const connection = headers.connection ?? "";
      // Either the literal, or a variable that a map on $http_upgrade turns into "upgrade".
      const viaMap = maps.find((m) => m.args[1] === connection);
      const upgrades =
        connection.toLowerCase() === "upgrade" || find(viaMap?.block, "default")[0]?.args[0] === "upgrade";
      expect(upgrades, `${where} Connection header (${connection}) says upgrade`).toBe(true);
    }
  });

  it("streams SSE unbuffered, and keeps idle subscriptions open longer than nginx's 60 s default", () => {
    for (const l of proxied) {
      const where = `location ${l.args.join(" ")}`;
      expect(arg(l.block, "proxy_buffering")?.[0], `${where} proxy_buffering`).toBe("off");
      for (const timeout of ["proxy_read_timeout", "proxy_send_timeout"]) {
        const value = arg(l.block, timeout)?.[0] ?? arg(servers[0], timeout)?.[0] ?? arg(http, timeout)?.[0];
        expect(nginxSeconds(value), `${where} ${timeout}`).toBeGreaterThanOrEqual(300);
      }
    }
    // gzip would hold events back until a compression block fills.
    expect(arg(http, "gzip")?.[0] ?? "off").toBe("off");
  });

  it("runs unprivileged on a read-only root: pid and temp files on the tmpfs, health check on its own endpoint", () => {
    expect(proxy.user ?? "root", "user").not.toMatch(/^(root|0)(:|$)/);
    expect(proxy.read_only).toBe(true);
    expect(proxy.cap_drop).toContain("ALL");
    const tmpfs = ([] as string[]).concat(proxy.tmpfs ?? []).map((t) => t.split(":")[0]);
    const writable = (file: string | undefined) =>
      file !== undefined && tmpfs.some((t) => file === t || file.startsWith(`${t}/`));
    expect(writable(arg(conf, "pid")?.[0]), `pid ${arg(conf, "pid")?.[0]}`).toBe(true);
    // nginx creates every temp path at start-up, used or not.
    for (const temp of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
      const dir = arg(http, `${temp}_temp_path`)?.[0];
      expect(writable(dir), `${temp}_temp_path ${dir}`).toBe(true);
    }
    const check = words(proxy.healthcheck!.test).join(" ");
    const url = /http:\/\/127\.0\.0\.1:(\d+)(\/\S*)/.exec(check);
    expect(url, `proxy healthcheck URL: ${check}`).not.toBeNull();
    const own = locations.find((l) => l.args.at(-1) === url![2] && find(l.block, "return")[0]?.args[0] === "200");
    expect(own, `nginx answers ${url![2]} itself`).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with line continuations joined and comments dropped; parser directives ignored. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: Instruction | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (current === undefined && (line === "" || line.startsWith("#"))) return;
    if (current !== undefined && line.startsWith("#")) return; // comments inside a continuation
    const continues = line.endsWith("\\");
    const body = continues ? line.slice(0, -1).trim() : line;
    if (current === undefined) {
      const [keyword = "", ...rest] = body.split(/\s+/);
      current = { keyword: keyword.toUpperCase(), args: rest.join(" "), line: index + 1 };
    } else {
      current.args = `${current.args} ${body}`.trim();
    }
    if (!continues) {
      out.push(current);
      current = undefined;
    }
  });
  if (current) out.push(current);
  return out;
}

interface Stage {
  name?: string;
  from: string;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): { globalArgs: Record<string, string>; stages: Stage[] } {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      const as = parts.findIndex((p) => p.toUpperCase() === "AS");
      stages.push({ from: parts[0] ?? "", name: as >= 0 ? parts[as + 1] : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === "ARG") {
        const [k, v = ""] = ins.args.split(/=(.*)/s);
        globalArgs[k!.trim()] = v.trim().replace(/^"(.*)"$/, "$1");
      }
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** Build-arg substitution in FROM: `${NAME}`, `${NAME:-default}`, `$NAME`, from the global ARG defaults. */
const substitute = (s: string, args: Record<string, string>) =>
  s.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, a?: string, d?: string, b?: string) => args[(a ?? b)!] ?? d ?? "",
  );

const GLOB: Record<string, string> = { "**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]" };

/** Docker's .dockerignore matching: last matching pattern wins; a pattern also matches everything below it. */
function dockerignore(text: string): (file: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = path.posix
        .normalize((negate ? l.slice(1) : l).trim())
        .replace(/^\/+/, "")
        .replace(/\/+$/, "");
      const re = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((t) => GLOB[t] ?? t.replace(/[.+^${}()|[\]\\]/g, "\\$&"))
        .join("");
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (file) => {
    const parts = path.posix.normalize(file).split("/");
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const { negate, re } of rules) if (candidates.some((c) => re.test(c))) excluded = !negate;
    return excluded;
  };
}

const dockerfileText = read("Dockerfile");
const { globalArgs, stages } = stagesOf(parseDockerfile(dockerfileText));
const finalStage = stages.at(-1)!;
const isIgnored = dockerignore(read(".dockerignore"));

/** `COPY [--flags] src... dest` or the JSON form → sources, destination and --from. */
function copyArgs(ins: Instruction): { from?: string; sources: string[]; dest: string } {
  const flags = [...ins.args.matchAll(/--([a-z-]+)(?:=(\S+))?/g)];
  const rest = ins.args.replace(/--[a-z-]+(?:=\S+)?\s*/g, "").trim();
  const parts = rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { from: flags.find((f) => f[1] === "from")?.[2], sources: parts.slice(0, -1), dest: parts.at(-1)! };
}

describe("Dockerfile", () => {
  it("passes dockerfile-utils validation without errors or warnings", () => {
    const problems = lintDockerfile(dockerfileText).map((d) => `Dockerfile:${d.range.start.line + 1} ${d.message}`);
    expect(problems).toEqual([]);
  });

  it("is multi-stage with named stages", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.name, `stage FROM ${s.from} is named`).toMatch(/^[a-z][a-z0-9_.-]*$/);
    expect(new Set(stages.map((s) => s.name)).size).toBe(stages.length);
  });

  it("pins every base image to a tag, never latest", () => {
    const stageNames = new Set(stages.map((s) => s.name));
    for (const s of stages) {
      const image = substitute(s.from, globalArgs);
      if (stageNames.has(image)) continue; // FROM an earlier stage
      expect(image, `FROM ${s.from} resolves to an image`).toMatch(/^[a-z0-9]/);
      const { tag, digest } = imageRef(image);
      expect(tag ?? digest, `FROM ${image} has a tag or digest`).toBeTruthy();
      expect(tag, `FROM ${image}`).not.toBe("latest");
      const node20 = /^node:20[.\d]*-(bookworm-slim|alpine[.\d]*)(@sha256:[a-f0-9]+)?$/;
      expect(image, "node 20 on Debian slim or alpine").toMatch(node20);
    }
  });

  it("installs exactly what the lockfile says, production dependencies only", () => {
    const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args));
    const install = runs.find((r) => /\bnpm (ci|install|i)\b/.test(r));
    expect(install, "an npm install step").toBeDefined();
    expect(install).toMatch(/\bnpm ci\b/);
    expect(install).toMatch(/--omit=dev/);
    const copiesLock = stages.some((s) =>
      s.instructions.some((i) => i.keyword === "COPY" && copyArgs(i).sources.includes("package-lock.json")),
    );
    expect(copiesLock, "package-lock.json is copied for npm ci").toBe(true);
    // The Prisma client is generated in the image (src/generated is not in the build context).
    expect(runs.some((r) => /prisma generate|npm run postinstall/.test(r))).toBe(true);
  });

  it("the final stage runs as a non-root user in production mode", () => {
    const users = finalStage.instructions.filter((i) => i.keyword === "USER");
    expect(users.length, "final stage sets USER").toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(":")[0]!.trim();
    expect(["root", "0"]).not.toContain(user);
    // Nothing runs as root after the switch.
    const after = finalStage.instructions.slice(finalStage.instructions.indexOf(users.at(-1)!) + 1);
    expect(after.filter((i) => i.keyword === "RUN").map((i) => i.args)).toEqual([]);

    const env = finalStage.instructions
      .filter((i) => i.keyword === "ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    expect(finalStage.instructions.some((i) => i.keyword === "EXPOSE" && /\b4000\b/.test(i.args))).toBe(true);
  });

  it("starts node directly in exec form (signals reach the app)", () => {
    const cmd = finalStage.instructions.filter((i) => i.keyword === "CMD").at(-1);
    expect(cmd, "final stage has CMD").toBeDefined();
    const argv = JSON.parse(cmd!.args) as string[];
    expect(argv[0]).toBe("node");
    expect(argv.at(-1)).toBe("dist/main.js");
    const healthcheck = finalStage.instructions.find((i) => i.keyword === "HEALTHCHECK");
    if (healthcheck) expect(healthcheck.args).toMatch(/\bCMD \[/);
  });

  it("the final stage copies only what it needs, not the whole context", () => {
    const copies = finalStage.instructions.filter((i) => i.keyword === "COPY" || i.keyword === "ADD").map(copyArgs);
    expect(
      finalStage.instructions.some((i) => i.keyword === "ADD"),
      "COPY, not ADD",
    ).toBe(false);
    const fromContext = copies.filter((c) => c.from === undefined).flatMap((c) => c.sources);
    expect(fromContext).not.toContain(".");
    expect(fromContext).not.toContain("./");
    // node_modules only from a build stage, never from the host.
    expect(fromContext.some((s) => s.startsWith("node_modules"))).toBe(false);
    const earlier = new Set(stages.slice(0, -1).map((s) => s.name));
    for (const c of copies.filter((c) => c.from !== undefined)) {
      expect(earlier, `COPY --from=${c.from} names an earlier stage`).toContain(c.from);
    }
    expect(copies.some((c) => c.from !== undefined && c.sources.some((s) => /node_modules/.test(s)))).toBe(true);
  });

  it("every file it copies from the build context exists and is not excluded by .dockerignore", () => {
    const sources = stages.flatMap((s) =>
      s.instructions
        .filter((i) => i.keyword === "COPY")
        .map(copyArgs)
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.sources),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(existsSync(path.join(root, src)), `${src} exists`).toBe(true);
      expect(isIgnored(src), `${src} is excluded by .dockerignore`).toBe(false);
    }
    const needed = ["package.json", "package-lock.json", "prisma.config.ts", "prisma", "scripts", "src"];
    expect(sources).toEqual(expect.arrayContaining(needed));
  });

  it(".dockerignore keeps host builds, dependencies and secrets out of the context", () => {
    for (const file of [
      "node_modules/pg/package.json",
      "src/generated/prisma/client.ts",
      ".env",
      ".env.local",
      "prisma/.env",
      ".git/HEAD",
      "coverage/index.html",
      "test/integration/deploy-config.test.ts",
      "npm-debug.log",
      "docker-compose.yml",
    ]) {
      expect(isIgnored(file), `${file} is excluded`).toBe(true);
    }
    for (const file of [
      "src/main.ts",
      "prisma/schema.prisma",
      "prisma/migrations/migration_lock.toml",
      "scripts/prisma-schema-engine.mjs",
      "tsconfig.json",
    ]) {
      expect(isIgnored(file), `${file} is in the context`).toBe(false);
    }
  });
});
