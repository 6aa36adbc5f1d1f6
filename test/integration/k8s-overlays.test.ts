// Offline checks of the Kubernetes overlays in deploy/overlays, rendered with `kubectl kustomize` (built-in
// kustomize, no cluster, no network) from a temporary copy where secrets.env is the committed example.
// Every object is validated against the Kubernetes schemas (kubernetes-models), and the release rules:
// hash-suffixed ConfigMap and Secret that every workload references, no placeholder credential, a
// migration Job named per version running the release's image, /graphql and /dashboard on the Ingress,
// the environment accepted by the app's config parser, and the Redis Cluster settings in that overlay.
// Skipped (with the reason) where kubectl is not installed.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const kubectl = (() => {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: any;
}

function render(overlay: string): Obj[] {
  const dir = mkdtempSync(path.join(tmpdir(), "k8s-overlays-"));
  try {
    cpSync(path.join(root, "deploy"), path.join(dir, "deploy"), { recursive: true });
    cpSync(
      path.join(dir, "deploy/overlays/production/secrets.env.example"),
      path.join(dir, "deploy/overlays/production/secrets.env"),
    );
    const out = execFileSync("kubectl", ["kustomize", path.join(dir, "deploy/overlays", overlay)], {
      encoding: "utf8",
    });
    return parseAllDocuments(out).map((d) => d.toJSON() as Obj);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function schemaError(o: Obj): Promise<string | undefined> {
  const group = (await import(/* @vite-ignore */ `kubernetes-models/${o.apiVersion}`)) as Record<
    string,
    new (d: unknown) => { validate(): void }
  >;
  // kubernetes-models' "byte" format check refuses some valid base64 here: check a Secret as stringData.
  const checked = o.kind === "Secret" ? { ...o, data: undefined, stringData: decode(o.data) } : o;
  try {
    new group[o.kind]!(checked).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const decode = (data: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));

describe.skipIf(!kubectl)("Kubernetes overlays (kubectl kustomize)", () => {
  for (const overlay of ["production", "redis-cluster"]) {
    describe(overlay, () => {
      const objects = render(overlay);
      const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "Job");
      const configMaps = objects.filter((o) => o.kind === "ConfigMap");
      const secrets = objects.filter((o) => o.kind === "Secret");

      it("renders objects that match the Kubernetes schemas", async () => {
        expect(objects.length).toBeGreaterThan(10);
        for (const o of objects) expect(await schemaError(o), `${o.kind}/${o.metadata.name}`).toBeUndefined();
      });

      it("generates a hash-suffixed ConfigMap and Secret, referenced by every workload; no placeholder", () => {
        expect(configMaps.map((c) => c.metadata.name)).toEqual([
          expect.stringMatching(/^order-gateway-env-[a-z0-9]{10}$/),
        ]);
        expect(secrets.map((s) => s.metadata.name)).toEqual([
          expect.stringMatching(/^order-gateway-credentials-[a-z0-9]{10}$/),
        ]);
        expect(JSON.stringify(objects)).not.toContain("CHANGE_ME");
        expect(workloads.length).toBe(5);
        for (const w of workloads) {
          const envFrom = w.spec.template.spec.containers[0].envFrom;
          expect(envFrom, w.metadata.name).toEqual([
            { configMapRef: { name: configMaps[0]!.metadata.name } },
            { secretRef: { name: secrets[0]!.metadata.name } },
          ]);
        }
      });

      it("names the migration Job per version, with the release's image", () => {
        const jobs = workloads.filter((w) => w.kind === "Job");
        const images = new Set(workloads.map((w) => w.spec.template.spec.containers[0].image));
        expect(images.size).toBe(1);
        const [image] = [...images] as [string];
        const version = image.split(":").at(-1)!;
        expect(jobs.map((j) => j.metadata.name)).toEqual([`order-gateway-migrate-${version}`]);
        expect(jobs[0]!.spec.template.spec.containers[0].command).toEqual(["npm", "run", "db:migrate"]);
        for (const w of workloads)
          expect(w.metadata.labels?.["app.kubernetes.io/version"], w.metadata.name).toBe(version);
      });

      it("routes /graphql and /dashboard on the Ingress", () => {
        const paths = objects
          .filter((o) => o.kind === "Ingress")
          .flatMap((i) =>
            i.spec.rules.flatMap((r: { http: { paths: { path: string }[] } }) => r.http.paths.map((p) => p.path)),
          );
        expect(paths.sort()).toEqual(["/dashboard", "/graphql"]);
      });

      it("gives every role an environment the app accepts", () => {
        const env = { ...configMaps[0]!.data, ...decode(secrets[0]!.data) };
        for (const w of workloads.filter((w) => w.kind === "Deployment")) {
          const own = Object.fromEntries(
            (w.spec.template.spec.containers[0].env ?? [])
              .filter((e: { value?: string }) => e.value !== undefined)
              .map((e: { name: string; value: string }) => [e.name, e.value]),
          );
          const config = loadConfig({ ...env, ...own });
          expect(config.NODE_ENV).toBe("production");
          if (overlay === "redis-cluster") {
            expect(config.REDIS_CLUSTER_NODES?.length, w.metadata.name).toBe(3);
            expect(config.STREAM_PARTITIONS).toBe(12);
            expect(config.RELAY_WAIT_REPLICAS).toBe(1);
          } else expect(config.REDIS_CLUSTER_NODES).toBeUndefined();
        }
      });
    });
  }
});
