// Offline checks of the KEDA overlay (deploy/k8s-keda): the base plus a ScaledObject per consumer
// Deployment, minus the base's CPU HPAs of those Deployments.
//
// Rendering: the overlay uses `resources` and `$patch: delete` patches only; this file renders it by
// reading the base's resource files and the overlay's, and dropping the deleted objects. Where kubectl
// is installed, `kubectl kustomize deploy/k8s-keda` must render the same objects.
// Schemas: ScaledObjects against test/support/keda-scaledobject.schema.json (the CRD's fields this overlay
// uses, closed, with the redis-streams trigger's metadata); the HPAs and PDBs of the result against the
// Kubernetes OpenAPI schemas of kubernetes-models.
// Rules: every consumer Deployment is scaled by exactly one ScaledObject and no HPA, on the lag and the
// pending entries of exactly the Redis keys its consumer group reads (config.yaml's STREAM_PREFIX and
// STREAM_PARTITIONS through the app's own key layout); the api keeps a CPU HPA; every Deployment has a PDB
// that still allows a disruption at the minimum replica count.

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import type { IDeployment } from "kubernetes-models/apps/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import { describe, expect, it } from "vitest";
import { consumers } from "../../src/modules.ts";
import { partitionKeys } from "../../src/platform/events/partitions.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const overlayDir = path.join(root, "deploy/k8s-keda");
const baseDir = path.join(root, "deploy/k8s");

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Kustomization {
  resources?: string[];
  patches?: { patch: string }[];
  [field: string]: unknown;
}
interface ScaledObject extends K8sObject {
  spec: {
    scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    triggers: { type: string; name?: string; metadata: Record<string, string> }[];
  };
}

const readYaml = (file: string) => parseYaml(readFileSync(file, "utf8")) as Kustomization;
const docs = (file: string) =>
  parseAllDocuments(readFileSync(file, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    return d.toJS() as K8sObject;
  });
const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

const overlay = readYaml(path.join(overlayDir, "kustomization.yaml"));
const base = readYaml(path.join(baseDir, "kustomization.yaml"));

function render(): K8sObject[] {
  const out: K8sObject[] = [];
  for (const r of overlay.resources ?? []) {
    const p = path.join(overlayDir, r);
    if (p === baseDir) for (const f of base.resources ?? []) out.push(...docs(path.join(baseDir, f)));
    else out.push(...docs(p));
  }
  const deleted = new Set(
    (overlay.patches ?? []).map(({ patch }) => {
      const p = parseYaml(patch) as K8sObject & { $patch?: string };
      expect(p.$patch, "the only patches this renderer understands delete an object").toBe("delete");
      return key(p);
    }),
  );
  const present = new Set(out.map(key));
  for (const d of deleted) expect(present.has(d), `patch deletes ${d}, which the base has`).toBe(true);
  return out.filter((o) => !deleted.has(key(o)));
}

const objects = render();
const ofKind = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as (T & K8sObject)[];
const scaledObjects = ofKind<ScaledObject>("ScaledObject");
const deployments = ofKind<IDeployment>("Deployment");
const hpas = ofKind<IHorizontalPodAutoscaler>("HorizontalPodAutoscaler");
const pdbs = ofKind<IPodDisruptionBudget>("PodDisruptionBudget");

const ajv = new Ajv({ allErrors: true, strict: false });
const validateScaledObject = ajv.compile(
  JSON.parse(readFileSync(path.join(root, "test/support/keda-scaledobject.schema.json"), "utf8")) as object,
);
const scaledObjectErrors = (o: unknown) =>
  validateScaledObject(o) ? [] : (validateScaledObject.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

type ModelClass = new (data: unknown) => { validate(): void };
async function k8sSchemaErrors(o: K8sObject): Promise<string | undefined> {
  const group = (await import(/* @vite-ignore */ `kubernetes-models/${o.apiVersion}`)) as Record<string, unknown>;
  const Model = group[o.kind] as ModelClass | undefined;
  if (!Model) return `no schema for ${o.apiVersion} ${o.kind}`;
  try {
    new Model(o).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const config = (docs(path.join(baseDir, "config.yaml"))[0] as unknown as { data: Record<string, string> }).data;
const roleOf = (d: IDeployment) =>
  d.spec!.template.spec!.containers[0]!.env?.find((e) => e.name === "ROLES")?.value?.split(",") ?? [];
const consumerGroups = new Map(consumers.map((c) => [c.group, c.streams]));

describe("deploy/k8s-keda: renders", () => {
  it("is the base plus ScaledObjects, minus the consumers' CPU HPAs", () => {
    expect(Object.keys(overlay).sort()).toEqual(["apiVersion", "kind", "patches", "resources"]);
    expect(overlay.resources).toContain("../k8s");
    expect(scaledObjects.map((s) => s.metadata.name).sort()).toEqual([...consumerGroups.keys()].sort());
  });

  it("matches `kubectl kustomize` where kubectl is installed", () => {
    const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
    if (kubectl.error) return; // no kubectl here: the renderer above stands alone (CI image has it)
    const rendered = execFileSync("kubectl", ["kustomize", overlayDir], { encoding: "utf8" });
    const theirs = parseAllDocuments(rendered).map((d) => d.toJS() as K8sObject);
    expect(theirs.map(key).sort()).toEqual(objects.map(key).sort());
  });
});

describe("deploy/k8s-keda: schemas", () => {
  it("every ScaledObject is valid against the KEDA ScaledObject schema", () => {
    for (const s of scaledObjects) expect(scaledObjectErrors(s), s.metadata.name).toEqual([]);
  });

  it("the ScaledObject schema rejects what KEDA would (guards against a schema that passes anything)", () => {
    const s = structuredClone(scaledObjects[0]!);
    expect(scaledObjectErrors(s)).toEqual([]);
    const typo = structuredClone(s) as unknown as { spec: Record<string, unknown> };
    typo.spec.maxReplicas = 3;
    expect(scaledObjectErrors(typo).join()).toMatch(/additional properties/);
    const noGroup = structuredClone(s);
    delete noGroup.spec.triggers[0]!.metadata.consumerGroup;
    expect(scaledObjectErrors(noGroup).join()).toMatch(/consumerGroup/);
    const numeric = structuredClone(s) as unknown as { spec: { triggers: { metadata: Record<string, unknown> }[] } };
    numeric.spec.triggers[0]!.metadata.lagCount = 500; // KEDA metadata values are strings
    expect(scaledObjectErrors(numeric)).not.toEqual([]);
    const url = structuredClone(s);
    url.spec.triggers[0]!.metadata.address = "redis://redis:6379"; // the scaler wants host:port
    expect(scaledObjectErrors(url).join()).toMatch(/pattern/);
  });

  it("every remaining HPA and PDB is valid against the Kubernetes schema", async () => {
    for (const o of [...hpas, ...pdbs])
      expect(await k8sSchemaErrors(o), `${o.kind}/${o.metadata.name}`).toBeUndefined();
  });
});

describe("deploy/k8s-keda: scaling rules", () => {
  it("each consumer Deployment: one ScaledObject, no HPA; every other Deployment keeps its CPU HPA", () => {
    for (const d of deployments) {
      const name = d.metadata!.name!;
      const isConsumer = roleOf(d).some((r) => consumerGroups.has(r));
      const scaledBy = scaledObjects.filter((s) => s.spec.scaleTargetRef.name === name);
      const hpaFor = hpas.filter((h) => h.spec!.scaleTargetRef.name === name);
      expect(scaledBy.length, `${name}: ScaledObjects`).toBe(isConsumer ? 1 : 0);
      expect(hpaFor.length, `${name}: HPAs`).toBe(isConsumer ? 0 : 1);
      if (!isConsumer) expect(hpaFor[0]!.spec!.metrics?.[0]?.resource?.name).toBe("cpu");
    }
    expect(hpas.map((h) => h.metadata!.name)).toContain("api");
  });

  it("triggers on the lag and the pending entries of exactly the keys the group reads, on the configured Redis", () => {
    const layout = { prefix: config.STREAM_PREFIX!, partitions: Number(config.STREAM_PARTITIONS ?? 1), cluster: false };
    const redis = new URL(config.REDIS_URL!);
    for (const s of scaledObjects) {
      const target = deployments.find((d) => d.metadata!.name === s.spec.scaleTargetRef.name);
      expect(target, `${s.metadata.name}: target exists`).toBeDefined();
      expect(s.spec.scaleTargetRef.kind ?? "Deployment").toBe("Deployment");
      const [group] = roleOf(target!);
      const streams = consumerGroups.get(group!);
      expect(streams, `${s.metadata.name}: runs a consumer group`).toBeDefined();
      const keys = streams!.flatMap((st) => partitionKeys(layout, st));
      for (const mode of ["lagCount", "pendingEntriesCount"]) {
        const triggers = s.spec.triggers.filter((t) => t.type === "redis-streams" && t.metadata[mode] !== undefined);
        expect(triggers.map((t) => t.metadata.stream).sort(), `${s.metadata.name} ${mode}`).toEqual([...keys].sort());
        for (const t of triggers) {
          expect(t.metadata.consumerGroup).toBe(group);
          expect(t.metadata.address).toBe(`${redis.hostname}:${redis.port || "6379"}`);
        }
      }
    }
  });

  it("never scales below 2, and every Deployment's PDB still allows one disruption there", () => {
    for (const s of scaledObjects) {
      expect(s.spec.minReplicaCount, s.metadata.name).toBeGreaterThanOrEqual(2);
      expect(s.spec.maxReplicaCount!, s.metadata.name).toBeGreaterThan(s.spec.minReplicaCount!);
    }
    for (const d of deployments) {
      const labels = d.spec!.template.metadata!.labels!;
      const pdb = pdbs.filter((p) =>
        Object.entries(p.spec!.selector!.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
      );
      expect(pdb.length, `${d.metadata!.name}: PDBs`).toBe(1);
      expect(pdb[0]!.spec!.maxUnavailable, `${d.metadata!.name}: maxUnavailable`).toBe(1);
    }
  });
});
