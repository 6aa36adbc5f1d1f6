// Offline checks of the Kubernetes manifests in deploy/k8s: no cluster, no network, no kubectl needed.
//
// Rendering
//   The base's kustomization.yaml is a plain list of resources (no generators, patches or transformers:
//   a test fails if one appears), so rendering it is reading every YAML document of every listed file.
//   Where kubectl is installed, `kubectl kustomize` (built-in kustomize) must render the same objects.
// Schemas
//   - every object is validated against the official Kubernetes OpenAPI schemas as shipped, compiled to
//     JSON Schema validators, by the `kubernetes-models` package (types, enums, formats, required
//     fields), with the model class named by its apiVersion and kind;
//   - the OpenAPI schemas accept unknown fields (a misspelt `livenesProbe` would silently be no probe),
//     so each object is also type-checked by the TypeScript compiler against the package's interfaces,
//     generated from the same OpenAPI document: unknown fields are errors there (like `kubeconform -strict`).
// Project rules
//   one Deployment per role with ROLES set, one image, probes on the right ports and paths, resources,
//   hardened security contexts, graceful shutdown, a PodDisruptionBudget and a HorizontalPodAutoscaler
//   per Deployment, spread api replicas, the Service and Ingress route /graphql and /dashboard to the api, the Job runs
//   the migrations, no real credentials, and every container's environment (ConfigMap + Secret + env)
//   is accepted by the app's own config parser (src/config.ts).

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import type { IJob } from "kubernetes-models/batch/v1";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import type {
  IConfigMap,
  IContainer,
  INamespace,
  IPodSpec,
  IPodTemplateSpec,
  IProbe,
  ISecret,
  IService,
} from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { loadConfig, ROLES } from "../../src/config.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const baseDir = path.join(root, "deploy/k8s");
const rel = (file: string) => path.relative(root, file);

// ---------------------------------------------------------------------------------------------------
// Rendering the kustomization
// ---------------------------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}
interface Loaded {
  file: string;
  object: K8sObject;
}

/** Kustomization fields this loader renders faithfully; anything else would make it lie. */
const SUPPORTED_KUSTOMIZATION_FIELDS = new Set(["apiVersion", "kind", "resources"]);

const kustomization = parseYaml(readFileSync(path.join(baseDir, "kustomization.yaml"), "utf8")) as Record<
  string,
  unknown
>;
const resourceFiles = ((kustomization.resources ?? []) as string[]).map((r) => path.join(baseDir, r));

function loadResources(files: string[]): Loaded[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8"))
      .map((doc) => {
        // Duplicate keys, bad indentation and the like: fail loudly, never half-parse.
        if (doc.errors.length > 0) throw new Error(`${rel(file)}: ${doc.errors.map((e) => e.message).join("; ")}`);
        return doc.toJS() as K8sObject | null;
      })
      .filter((object): object is K8sObject => object !== null)
      .map((object) => ({ file, object })),
  );
}

const loaded = loadResources(resourceFiles.filter((f) => existsSync(f)));
const objects = loaded.map((l) => l.object);
const id = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;
const ofKind = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as (T & K8sObject)[];

const namespaces = ofKind<INamespace>("Namespace");
const configMaps = ofKind<IConfigMap>("ConfigMap");
const secrets = ofKind<ISecret>("Secret");
const deployments = ofKind<IDeployment>("Deployment");
const jobs = ofKind<IJob>("Job");
const services = ofKind<IService>("Service");
const ingresses = ofKind<IIngress>("Ingress");
const hpas = ofKind<IHorizontalPodAutoscaler>("HorizontalPodAutoscaler");
const pdbs = ofKind<IPodDisruptionBudget>("PodDisruptionBudget");

const podTemplates: { owner: string; template: IPodTemplateSpec }[] = [
  ...deployments.map((d) => ({ owner: id(d), template: d.spec!.template })),
  ...jobs.map((j) => ({ owner: id(j), template: j.spec!.template })),
];
const podSpec = (d: IDeployment | IJob): IPodSpec => d.spec!.template.spec!;
const allContainers = podTemplates.flatMap(({ owner, template }) =>
  [...(template.spec!.initContainers ?? []), ...template.spec!.containers].map((c) => ({ owner, c })),
);

describe("deploy/k8s: kustomization renders to plain resources", () => {
  it("uses only `resources`, so listing its files renders it", () => {
    expect(kustomization.kind).toBe("Kustomization");
    expect(kustomization.apiVersion).toBe("kustomize.config.k8s.io/v1beta1");
    const unsupported = Object.keys(kustomization).filter((k) => !SUPPORTED_KUSTOMIZATION_FIELDS.has(k));
    expect(unsupported, "fields this test cannot render (teach it, or move them to an overlay)").toEqual([]);
  });

  it("lists files that exist inside the base, and every manifest file here is listed", () => {
    expect(resourceFiles.length).toBeGreaterThan(0);
    for (const file of resourceFiles) {
      expect(file.startsWith(baseDir + path.sep), `${rel(file)} is inside deploy/k8s`).toBe(true);
      expect(existsSync(file) && statSync(file).isFile(), `${rel(file)} exists`).toBe(true);
    }
    const onDisk = readdirSync(baseDir)
      .filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
      .map((f) => path.join(baseDir, f));
    expect(onDisk.filter((f) => !resourceFiles.includes(f)).map(rel), "forgotten in kustomization.yaml").toEqual([]);
  });

  it("every object has apiVersion, kind and a name, and no two objects share kind, namespace and name", () => {
    const keys = new Set<string>();
    for (const { file, object } of loaded) {
      expect(typeof object.apiVersion, `${rel(file)}: apiVersion`).toBe("string");
      expect(typeof object.kind, `${rel(file)}: kind`).toBe("string");
      expect(object.metadata?.name, `${rel(file)} ${object.kind}: metadata.name`).toMatch(
        /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
      );
      const key = `${object.kind}/${object.metadata.namespace ?? ""}/${object.metadata.name}`;
      expect(keys.has(key), `duplicate ${key}`).toBe(false);
      keys.add(key);
    }
  });

  const kubectl = (() => {
    try {
      execFileSync("kubectl", ["version", "--client"], { stdio: "ignore", timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!kubectl)("`kubectl kustomize` renders exactly the same objects (where kubectl is installed)", () => {
    const out = execFileSync("kubectl", ["kustomize", baseDir], { encoding: "utf8", timeout: 60_000 });
    const rendered = parseAllDocuments(out)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
    const byKey = (list: K8sObject[]) =>
      Object.fromEntries(list.map((o) => [`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]));
    expect(byKey(rendered)).toEqual(byKey(objects));
  });
});

// ---------------------------------------------------------------------------------------------------
// Kubernetes schemas
// ---------------------------------------------------------------------------------------------------

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** The kubernetes-models class for an apiVersion and kind: `apps/v1` → kubernetes-models/apps/v1. */
async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  if (!/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion)) return undefined;
  const specifier = `kubernetes-models/${apiVersion}`;
  const group = (await import(/* @vite-ignore */ specifier).catch(() => ({}))) as Record<string, unknown>;
  return group[kind] as ModelClass | undefined;
}

async function schemaErrors(object: K8sObject): Promise<string | undefined> {
  const Model = await modelFor(object.apiVersion, object.kind);
  if (!Model) return `no Kubernetes schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(object).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Type-checks objects against kubernetes-models' interfaces (`I<Kind>` from kubernetes-models/<apiVersion>)
 * with the TypeScript compiler, in memory. Object literals get excess-property checks: unknown fields fail.
 */
function typeErrors(list: { label: string; object: K8sObject }[]): string[] {
  // Not written to disk; placed in test/ so that `kubernetes-models` resolves from the project.
  const virtual = path.join(root, "test", "__k8s-manifests__.ts");
  const starts: { line: number; label: string }[] = [];
  let line = 0;
  const chunks = list.map(({ label, object }, i) => {
    const type = `import("kubernetes-models/${object.apiVersion}").I${object.kind}`;
    const chunk = `export const r${i}: ${type} = ${JSON.stringify(object, null, 2)};`;
    starts.push({ line, label });
    line += chunk.split("\n").length;
    return chunk;
  });
  const source = chunks.join("\n");

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts"],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, languageVersion, ...rest) =>
    path.resolve(name) === virtual
      ? ts.createSourceFile(name, source, languageVersion, true)
      : getSourceFile.call(host, name, languageVersion, ...rest);
  host.fileExists = (name) => path.resolve(name) === virtual || fileExists.call(host, name);
  host.readFile = (name) => (path.resolve(name) === virtual ? source : readFile.call(host, name));
  const program = ts.createProgram([virtual], options, host);
  const file = program.getSourceFile(virtual)!;
  return ts.getPreEmitDiagnostics(program, file).map((d) => {
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
    const owner = [...starts].reverse().find((s) => s.line <= at);
    return `${owner?.label ?? "?"}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

describe("deploy/k8s: Kubernetes schemas", () => {
  it("every object is valid against the Kubernetes OpenAPI schema of its kind", async () => {
    expect(objects.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const { file, object } of loaded) {
      const error = await schemaErrors(object);
      if (error) problems.push(`${rel(file)} ${id(object)}: ${error}`);
    }
    expect(problems).toEqual([]);
  });

  it("no object has a field its kind does not define (strict, via the generated TypeScript types)", () => {
    const errors = typeErrors(loaded.map(({ file, object }) => ({ label: `${rel(file)} ${id(object)}`, object })));
    expect(errors).toEqual([]);
  });

  it("both checks really reject invalid objects (guards against validators that pass anything)", async () => {
    const deployment = structuredClone(deployments[0]!) as K8sObject & IDeployment;
    expect(await schemaErrors(deployment)).toBeUndefined();

    const wrongType = structuredClone(deployment);
    (wrongType.spec!.template.spec!.containers[0]!.ports![0] as { containerPort: unknown }).containerPort = "4000";
    expect(await schemaErrors(wrongType)).toMatch(/containerPort/);

    const missing = structuredClone(deployment);
    delete (missing.spec as Partial<NonNullable<IDeployment["spec"]>>).selector;
    expect(await schemaErrors(missing)).toMatch(/selector/);

    const badEnum = structuredClone(pdbs[0]!) as K8sObject & IPodDisruptionBudget;
    (badEnum.spec as Record<string, unknown>).unhealthyPodEvictionPolicy = "Sometimes";
    expect(await schemaErrors(badEnum)).toMatch(/unhealthyPodEvictionPolicy|allowed values/);

    expect(await schemaErrors({ ...deployment, kind: "Deploymnet" })).toMatch(/no Kubernetes schema/);

    const typo = structuredClone(deployment);
    const container = typo.spec!.template.spec!.containers[0]! as unknown as Record<string, unknown>;
    container.livenesProbe = container.livenessProbe;
    expect(await schemaErrors(typo), "the OpenAPI schemas alone allow unknown fields").toBeUndefined();
    const errors = typeErrors([
      { label: "ok", object: deployment },
      { label: "typo", object: typo },
      { label: "wrong type", object: wrongType },
    ]);
    expect(errors.join("\n")).toMatch(/^typo: .*'"?livenesProbe"?' does not exist/m);
    expect(errors.join("\n")).toMatch(/^wrong type: /m);
    expect(errors.filter((e) => e.startsWith("ok:"))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Project rules
// ---------------------------------------------------------------------------------------------------

/** CPU in cores, memory in bytes: "250m" → 0.25, "512Mi" → 536870912, 2 → 2. */
function quantity(q: string | number | undefined): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q ?? "");
  if (!m) throw new Error(`unparsable quantity ${q}`);
  const scale: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * (m[2] ? scale[m[2]]! : 1);
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** What the image's Dockerfile sets (ENV NODE_ENV=production PORT=4000); containers start from it. */
const IMAGE_ENV = { NODE_ENV: "production", PORT: "4000" };

/** The environment a container sees: image ENV, then envFrom (ConfigMap/Secret), then env. */
/** The Secret ships placeholders; the config is checked with what an operator puts in their place. */
const operatorSupplied = (data: Record<string, string> = {}) =>
  Object.fromEntries(
    Object.entries(data).map(([k, v]) => [
      k,
      v.replaceAll("CHANGE_ME", "operator-supplied-secret-of-sufficient-length-0123"),
    ]),
  );

function containerEnv(c: IContainer): Record<string, string> {
  const env: Record<string, string> = { ...IMAGE_ENV };
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = configMaps.find((m) => m.metadata.name === from.configMapRef!.name);
      Object.assign(env, cm?.data ?? {});
    }
    if (from.secretRef) {
      const s = secrets.find((m) => m.metadata.name === from.secretRef!.name);
      Object.assign(env, operatorSupplied(s?.stringData));
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      env[e.name] = configMaps.find((m) => m.metadata.name === ref.name)?.data?.[ref.key] ?? "";
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      env[e.name] = operatorSupplied(secrets.find((m) => m.metadata.name === ref.name)?.stringData)[ref.key] ?? "";
    }
  }
  return env;
}

/** A probe's or Service's port (number or name) → the container port number. */
function portNumber(c: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === "number") return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** Variables src/config.ts reads: the keys of its zod schema. */
const configSource = readFileSync(path.join(root, "src/config.ts"), "utf8");
const CONFIG_VARS = new Set([...configSource.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!));
/** Read by something other than src/config.ts, on purpose. */
const OTHER_VARS: Record<string, string> = {
  NODE_OPTIONS: "node itself",
  npm_config_cache: "npm, in the migration Job",
  CHECKPOINT_DISABLE: "the Prisma CLI, in the migration Job",
};

type Role = (typeof ROLES)[number];
const roleOf = (d: IDeployment) => {
  const env = containerEnv(podSpec(d).containers[0]!);
  return env.ROLES;
};
const deploymentFor = (role: Role) => deployments.find((d) => roleOf(d) === role);
const api = deploymentFor("api");
const apiContainer = () => podSpec(api!).containers[0]!;

describe("deploy/k8s: project rules", () => {
  it("one Namespace, restricted Pod Security enforced, and every other object in it", () => {
    expect(namespaces).toHaveLength(1);
    const ns = namespaces[0]!;
    expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    for (const o of objects) {
      if (o.kind === "Namespace") continue;
      expect(o.metadata.namespace, `${id(o)} namespace`).toBe(ns.metadata.name);
    }
  });

  it("one Deployment per role, each running exactly that role", () => {
    expect(deployments.map(roleOf).sort()).toEqual([...ROLES].sort());
    for (const d of deployments) {
      const role = roleOf(d)!;
      const cfg = loadConfig(containerEnv(podSpec(d).containers[0]!));
      expect(cfg.ROLES, `${id(d)} ROLES`).toEqual([role]);
      expect(podSpec(d).containers, `${id(d)}: one container`).toHaveLength(1);
    }
  });

  it("every pod runs the same image, pinned to a tag", () => {
    const images = new Set(allContainers.map(({ c }) => c.image));
    expect([...images]).toHaveLength(1);
    const image = [...images][0]!;
    const tag = image.split("@")[0]!.split("/").pop()!.split(":")[1];
    expect(tag ?? image.split("@")[1], `${image} has a tag or digest`).toBeTruthy();
    expect(tag).not.toBe("latest");
  });

  it("every container has CPU and memory requests and limits, requests within limits", () => {
    for (const { owner, c } of allContainers) {
      for (const resource of ["cpu", "memory"]) {
        const request = c.resources?.requests?.[resource];
        const limit = c.resources?.limits?.[resource];
        expect(request, `${owner} ${c.name} requests.${resource}`).toBeDefined();
        expect(limit, `${owner} ${c.name} limits.${resource}`).toBeDefined();
        expect(quantity(request), `${owner} ${c.name} ${resource} request <= limit`).toBeLessThanOrEqual(
          quantity(limit),
        );
      }
      // A V8 heap cap, if any, leaves room below the memory limit for the rest of the process.
      const heap = /--max-old-space-size=(\d+)/.exec(containerEnv(c).NODE_OPTIONS ?? "");
      if (heap) {
        const limitMiB = quantity(c.resources!.limits!.memory) / 2 ** 20;
        expect(Number(heap[1]), `${owner} heap cap below the memory limit`).toBeLessThan(limitMiB * 0.9);
      }
    }
  });

  it("every pod is hardened: uid 1000, no privilege escalation or capabilities, read-only root, /tmp writable", () => {
    for (const { owner, template } of podTemplates) {
      const spec = template.spec!;
      expect(spec.securityContext?.runAsNonRoot, `${owner} runAsNonRoot`).toBe(true);
      expect(spec.securityContext?.runAsUser, `${owner} runAsUser (node)`).toBe(1000);
      expect(spec.securityContext?.seccompProfile?.type, `${owner} seccomp`).toBe("RuntimeDefault");
      expect(spec.automountServiceAccountToken, `${owner} no API token`).toBe(false);
      expect(spec.hostNetwork ?? false).toBe(false);
      expect(spec.hostPID ?? false).toBe(false);
      expect(
        (spec.volumes ?? []).filter((v) => v.hostPath),
        `${owner} hostPath`,
      ).toEqual([]);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const sc = c.securityContext ?? {};
        const what = `${owner} ${c.name}`;
        expect(sc.allowPrivilegeEscalation, `${what} allowPrivilegeEscalation`).toBe(false);
        expect(sc.readOnlyRootFilesystem, `${what} readOnlyRootFilesystem`).toBe(true);
        expect(sc.privileged ?? false, `${what} privileged`).toBe(false);
        expect(sc.capabilities?.drop, `${what} drops ALL capabilities`).toContain("ALL");
        expect(sc.capabilities?.add ?? [], `${what} adds none`).toEqual([]);
        expect(sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot, what).toBe(true);
        expect(sc.runAsUser ?? spec.securityContext?.runAsUser, what).toBe(1000);
        // tsx's compile cache and npm's files go to the OS temp dir: an emptyDir at /tmp.
        const tmp = c.volumeMounts?.find((m) => m.mountPath === "/tmp");
        expect(tmp, `${what} mounts /tmp`).toBeDefined();
        expect(spec.volumes?.find((v) => v.name === tmp!.name)?.emptyDir, `${what} /tmp is an emptyDir`).toBeDefined();
      }
    }
  });

  it("the grace period outlasts the preStop hook plus the app's graceful shutdown", () => {
    for (const d of deployments) {
      const c = podSpec(d).containers[0]!;
      const shutdownS = loadConfig(containerEnv(c)).SHUTDOWN_TIMEOUT_MS / 1000;
      const sleep =
        c.lifecycle?.preStop?.exec?.command?.[0] === "sleep" ? Number(c.lifecycle.preStop.exec.command[1]) : 0;
      const grace = podSpec(d).terminationGracePeriodSeconds ?? 30;
      expect(grace, `${id(d)}: ${grace}s > ${sleep}s + ${shutdownS}s`).toBeGreaterThan(sleep + shutdownS);
    }
  });

  it("api probes PORT: startup and liveness on /health; readiness and scrapes on HEALTH_PORT (production)", () => {
    expect(api, "a Deployment with ROLES=api").toBeDefined();
    const c = apiContainer();
    const { PORT: port, HEALTH_PORT: healthPort } = loadConfig(containerEnv(c));
    expect(c.ports?.map((p) => p.containerPort)).toContain(port);
    expect(c.ports?.map((p) => p.containerPort)).toContain(healthPort);
    expectProbes(id(api!), c, port, healthPort);
    expect(api!.spec!.template.metadata?.annotations?.["prometheus.io/port"]).toBe(String(healthPort));
  });

  it("workers (no api role) probe HEALTH_PORT: startup and liveness on /health, readiness on /ready", () => {
    const workers = deployments.filter((d) => d !== api);
    expect(workers.length).toBe(ROLES.length - 1);
    for (const d of workers) {
      const c = podSpec(d).containers[0]!;
      const healthPort = loadConfig(containerEnv(c)).HEALTH_PORT;
      expect(
        c.ports?.map((p) => p.containerPort),
        `${id(d)} declares HEALTH_PORT`,
      ).toContain(healthPort);
      expectProbes(id(d), c, healthPort);
    }
  });

  it("every Deployment: selector matches its own pods only, no fixed replicas, one HPA on CPU and one PDB", () => {
    const podsOf = (d: IDeployment) => d.spec!.template.metadata?.labels;
    for (const d of deployments) {
      const name = id(d);
      expect(matches(d.spec!.selector.matchLabels, podsOf(d)), `${name} selects its template`).toBe(true);
      const others = deployments.filter((o) => o !== d && matches(d.spec!.selector.matchLabels, podsOf(o)));
      expect(others.map(id), `${name} selector overlaps`).toEqual([]);
      // The HPA owns the count; a fixed `replicas` would reset it on every apply.
      expect(d.spec!.replicas, `${name}: replicas left to the HPA`).toBeUndefined();

      const hpa = hpas.filter(
        (h) => h.spec!.scaleTargetRef.kind === "Deployment" && h.spec!.scaleTargetRef.name === d.metadata!.name,
      );
      expect(hpa, `${name}: one HPA`).toHaveLength(1);
      const spec = hpa[0]!.spec!;
      expect(spec.scaleTargetRef.apiVersion).toBe("apps/v1");
      expect(spec.minReplicas ?? 1, `${name}: at least 2 replicas`).toBeGreaterThanOrEqual(2);
      expect(spec.maxReplicas).toBeGreaterThan(spec.minReplicas!);
      const cpu = spec.metrics?.find((m) => m.type === "Resource" && m.resource?.name === "cpu");
      expect(cpu?.resource?.target.type, `${name}: CPU utilization target`).toBe("Utilization");
      // Utilization is relative to the CPU request.
      expect(podSpec(d).containers.every((c) => c.resources?.requests?.cpu !== undefined)).toBe(true);

      const pdb = pdbs.filter((p) => matches(p.spec!.selector?.matchLabels, podsOf(d)));
      expect(pdb, `${name}: one PDB`).toHaveLength(1);
      const budget = pdb[0]!.spec!;
      expect(budget.maxUnavailable ?? budget.minAvailable, `${name}: PDB sets a budget`).toBeDefined();
      // A budget that allows no disruption at the HPA's minimum would block every node drain.
      if (typeof budget.minAvailable === "number") expect(budget.minAvailable).toBeLessThan(spec.minReplicas!);
      if (typeof budget.maxUnavailable === "number") expect(budget.maxUnavailable).toBeGreaterThan(0);
    }
    // No PDB or HPA for something that does not exist.
    for (const p of pdbs)
      expect(
        deployments.some((d) => matches(p.spec!.selector?.matchLabels, podsOf(d))),
        id(p),
      ).toBe(true);
    for (const h of hpas)
      expect(
        deployments.map((d) => d.metadata!.name),
        id(h),
      ).toContain(h.spec!.scaleTargetRef.name);
  });

  it("api replicas are spread across nodes", () => {
    const spec = podSpec(api!);
    const labels = api!.spec!.template.metadata!.labels;
    const spread = (spec.topologySpreadConstraints ?? []).filter(
      (t) => t.topologyKey === "kubernetes.io/hostname" && matches(t.labelSelector?.matchLabels, labels),
    );
    const antiAffinity = [
      ...(spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
        (p) => p.podAffinityTerm,
      ),
    ].filter((t) => t.topologyKey === "kubernetes.io/hostname" && matches(t.labelSelector?.matchLabels, labels));
    expect(spread.length + antiAffinity.length).toBeGreaterThan(0);
  });

  it("the api Service selects the api pods and targets the port the api listens on", () => {
    const apiLabels = api!.spec!.template.metadata!.labels;
    const svc = services.filter((s) => matches(s.spec!.selector, apiLabels));
    expect(svc).toHaveLength(1);
    for (const d of deployments.filter((d) => d !== api)) {
      const behind = matches(svc[0]!.spec!.selector, d.spec!.template.metadata!.labels);
      expect(behind, `${id(d)} not behind the api Service`).toBe(false);
    }
    const port = loadConfig(containerEnv(apiContainer())).PORT;
    for (const p of svc[0]!.spec!.ports!) {
      expect(portNumber(apiContainer(), p.targetPort ?? p.port), `${id(svc[0]!)} port ${p.name}`).toBe(port);
    }
  });

  it("the Ingress routes /graphql and /dashboard to the api Service, with WebSocket- and SSE-friendly settings", () => {
    expect(ingresses).toHaveLength(1);
    const ing = ingresses[0]!;
    const apiLabels = api!.spec!.template.metadata!.labels;
    const paths = (ing.spec!.rules ?? []).flatMap((r) => r.http?.paths ?? []);
    const graphql = paths.find((p) => p.path === "/graphql");
    expect(graphql, "a /graphql path").toBeDefined();
    expect(["Prefix", "Exact"]).toContain(graphql!.pathType);
    const backend = graphql!.backend.service!;
    const svc = services.find((s) => s.metadata!.name === backend.name);
    expect(svc, `Service ${backend.name}`).toBeDefined();
    expect(matches(svc!.spec!.selector, apiLabels), `${backend.name} selects the api pods`).toBe(true);
    const { name: portName, number: portNumberRef } = backend.port!;
    const svcPort = svc!.spec!.ports!.find((p) => (portName ? p.name === portName : p.port === portNumberRef));
    expect(svcPort, `Service port ${JSON.stringify(backend.port)}`).toBeDefined();
    expect(paths.find((p) => p.path === "/dashboard")?.backend.service, "a /dashboard path to the api").toEqual(
      backend,
    );
    // Only GraphQL and the dashboard are public: no /health, /ready, /metrics.
    for (const p of paths) expect(p.path, "public path").toMatch(/^\/(graphql|dashboard)$/);

    expect(ing.spec!.ingressClassName).toBe("nginx");
    const a = ing.metadata!.annotations ?? {};
    // Long-lived subscriptions outlive nginx's 60 s default.
    for (const key of ["proxy-read-timeout", "proxy-send-timeout"]) {
      expect(Number(a[`nginx.ingress.kubernetes.io/${key}`]), key).toBeGreaterThanOrEqual(300);
    }
    // SSE events must not wait in a proxy buffer.
    expect(a["nginx.ingress.kubernetes.io/proxy-buffering"]).toBe("off");
  });

  it("the migration Job runs `npm run db:migrate` (prisma migrate deploy) once, retried a bounded number of times", () => {
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    const c = podSpec(job).containers[0]!;
    const argv = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
    expect(argv).toMatch(/^npm run db:migrate$/);
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const scripts = pkg.scripts;
    expect(scripts["db:migrate"]).toMatch(/prisma migrate deploy/);
    expect(job.spec!.backoffLimit, "backoffLimit").toBeGreaterThan(0);
    expect(job.spec!.backoffLimit).toBeLessThanOrEqual(6);
    expect(job.spec!.ttlSecondsAfterFinished, "ttlSecondsAfterFinished").toBeGreaterThan(0);
    expect(["Never", "OnFailure"]).toContain(podSpec(job).restartPolicy);
    // The same database as the app.
    const appDb = containerEnv(apiContainer()).DATABASE_URL;
    expect(containerEnv(c).DATABASE_URL).toBe(appDb);
    expect(() => loadConfig(containerEnv(c))).not.toThrow();
  });

  it("the Secret holds placeholders only, and nothing secret sits in the ConfigMap", () => {
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) {
      // stringData: readable, reviewable; base64 `data` would hide what is committed.
      expect(s.data, `${id(s)} uses stringData`).toBeUndefined();
      for (const [key, value] of Object.entries(s.stringData ?? {})) {
        expect(value, `${id(s)} ${key} is marked as a placeholder`).toMatch(/CHANGE_ME/);
        if (/^[a-z][a-z0-9+.-]*:\/\//.test(value)) {
          const url = new URL(value);
          if (url.password) expect(url.password, `${id(s)} ${key} password`).toBe("CHANGE_ME");
        }
      }
    }
    for (const cm of configMaps) {
      for (const [key, value] of Object.entries(cm.data ?? {})) {
        expect(key, `${id(cm)}: ${key} belongs in a Secret`).not.toMatch(/PASSWORD|SECRET|TOKEN|DATABASE_URL/i);
        if (/^[a-z][a-z0-9+.-]*:\/\//.test(value))
          expect(new URL(value).password, `${id(cm)} ${key}: credentials`).toBe("");
      }
    }
  });

  it("every environment variable is one the app (or its tooling) reads, and every reference resolves", () => {
    expect(CONFIG_VARS.size, "variables parsed from src/config.ts").toBeGreaterThan(10);
    for (const name of ["ROLES", "DATABASE_URL", "REDIS_URL", "PORT", "SHUTDOWN_TIMEOUT_MS"])
      expect(CONFIG_VARS).toContain(name);
    const known = (name: string) => CONFIG_VARS.has(name) || name in OTHER_VARS;
    for (const cm of configMaps)
      for (const key of Object.keys(cm.data ?? {})) expect(known(key), `${id(cm)}: ${key}`).toBe(true);
    for (const s of secrets)
      for (const key of Object.keys(s.stringData ?? {})) expect(known(key), `${id(s)}: ${key}`).toBe(true);
    for (const { owner, c } of allContainers) {
      for (const e of c.env ?? []) expect(known(e.name), `${owner} ${c.name}: ${e.name}`).toBe(true);
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef)
          expect(
            configMaps.map((m) => m.metadata!.name),
            owner,
          ).toContain(from.configMapRef.name);
        if (from.secretRef)
          expect(
            secrets.map((m) => m.metadata!.name),
            owner,
          ).toContain(from.secretRef.name);
      }
    }
  });

  it("the app's config parser accepts the environment of every container", () => {
    for (const { owner, c } of allContainers) {
      const env = containerEnv(c);
      const cfg = loadConfig(env);
      expect(cfg.NODE_ENV, `${owner}: NODE_ENV`).toBe("production");
      expect(cfg.graphiql, `${owner}: GraphiQL off in production`).toBe(false);
      expect(cfg.logPretty, `${owner}: JSON logs`).toBe(false);
    }
  });
});

function expectProbes(owner: string, c: IContainer, port: number, readyPort = port) {
  const probe = (name: "startupProbe" | "livenessProbe" | "readinessProbe", path: string) => {
    const p: IProbe | undefined = c[name];
    expect(p?.httpGet, `${owner} ${name}`).toBeDefined();
    expect(p!.httpGet!.path, `${owner} ${name} path`).toBe(path);
    expect(portNumber(c, p!.httpGet!.port), `${owner} ${name} port`).toBe(name === "readinessProbe" ? readyPort : port);
  };
  probe("startupProbe", "/health");
  probe("livenessProbe", "/health");
  probe("readinessProbe", "/ready");
}
