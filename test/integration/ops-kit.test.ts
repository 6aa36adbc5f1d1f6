// The operations kit, checked offline plus one real scrape:
//
// deploy/prometheus/alerts.yml
//   - `promtool check rules` (Debian's prometheus package; npm test's pretest installs it, see
//     scripts/ensure-test-tools.sh) and `promtool test rules alerts.test.yml`, which holds a test per
//     rule: each alert is expected to fire somewhere and to stay quiet somewhere;
//   - a wrong expectation makes promtool fail (the harness can fail);
//   - every metric the rules use is one this app exports (a real app with every role, scraped).
// deploy/grafana (provisioned by docker-compose.yml's `monitoring` profile)
//   - the dashboard's structure: ids, grid inside 24 columns with no overlap, every query on the
//     provisioned data source, every PromQL expression parsed by promtool, every metric exported;
//   - the provisioning files point where compose mounts the dashboards.
// deploy/prometheus/prometheus.yml: valid for promtool, scrapes the rule file compose mounts.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), "utf8");
const promDir = path.join(root, "deploy/prometheus");

function promtool(args: string[], cwd = promDir) {
  const r = spawnSync("promtool", args, { cwd, encoding: "utf8" });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}): apt-get install -y prometheus`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parseYaml(read("deploy/prometheus/alerts.yml")) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels: Record<string, string> }[];
}
const ruleTests = parseYaml(read("deploy/prometheus/alerts.test.yml")) as {
  rule_files: string[];
  tests: { alert_rule_test?: AlertTest[] }[];
};

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
const dashboard = JSON.parse(read("deploy/grafana/dashboards/order-gateway.json")) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
};
const queryPanels = dashboard.panels.filter((p) => p.type !== "row");
const dashboardExprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Metric names an expression reads: identifiers not followed by `(` that are not PromQL keywords or labels. */
function metricNames(expr: string): string[] {
  const cleaned = expr
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "") // label lists
    .replace(/\[[^\]]*\]/g, "") // ranges
    .replace(/"[^"]*"/g, "");
  const keywords = new Set(["and", "or", "unless", "bool", "offset", "le", "vector", "inf", "nan"]);
  return [...cleaned.matchAll(/\b([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((n) => !keywords.has(n.toLowerCase()) && !/^\d/.test(n));
}

/** Histograms and summaries are exported as their _bucket/_sum/_count series. */
const baseName = (n: string) => n.replace(/_(bucket|sum|count)$/, "");

describe("Prometheus alerting rules (deploy/prometheus/alerts.yml)", () => {
  it("pass promtool check rules", () => {
    const r = promtool(["check", "rules", "alerts.yml"]);
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.ok, r.output).toBe(true);
  });

  it("cover the seven situations the runbook names, each with severity and a summary", () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([
      "ConsumerLagGrowing",
      "DeadLettersWaiting",
      "OrphanReservationsReleased",
      "OutboxOldestRowTooOld",
      "ReadinessFlapping",
      "RelayStalled",
      "SubscribersCutOff",
    ]);
    for (const r of rules) {
      expect(["warning", "critical"], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
  });

  it("pass their unit tests (promtool test rules), which make every rule fire once and stay quiet once", () => {
    expect(ruleTests.rule_files).toEqual(["alerts.yml"]);
    const cases = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert}: a case where it fires`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert}: a case where it does not`,
      ).toBe(true);
    }
    const r = promtool(["test", "rules", "alerts.test.yml"]);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toContain("SUCCESS");
  });

  it("a wrong expectation fails promtool test rules (the check can fail)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "alerts-"));
    try {
      writeFileSync(path.join(dir, "alerts.yml"), read("deploy/prometheus/alerts.yml"));
      // Dead letters waiting for 10 minutes, and a test claiming no alert.
      writeFileSync(
        path.join(dir, "wrong.test.yml"),
        [
          "rule_files: [alerts.yml]",
          "tests:",
          "  - interval: 1m",
          "    input_series:",
          "      - series: 'dead_letters_waiting{stream=\"orders\"}'",
          '        values: "1x10"',
          "    alert_rule_test:",
          "      - eval_time: 10m",
          "        alertname: DeadLettersWaiting",
          "        exp_alerts: []",
          "",
        ].join("\n"),
      );
      const r = promtool(["test", "rules", "wrong.test.yml"], dir);
      expect(r.ok).toBe(false);
      expect(r.output).toContain("DeadLettersWaiting");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Grafana dashboard (deploy/grafana)", () => {
  it("has a uid, a title and panels with unique ids on a 24-column grid without overlaps", () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(
        x >= 0 && w > 0 && x + w <= 24 && h > 0 && y >= 0,
        `${p.title}: gridPos ${JSON.stringify(p.gridPos)}`,
      ).toBe(true);
      for (let cx = x; cx < x + w; cx++)
        for (let cy = y; cy < y + h; cy++) {
          const other = cells.get(`${cx},${cy}`);
          expect(other, `${p.title} overlaps ${other}`).toBeUndefined();
          cells.set(`${cx},${cy}`, p.title);
        }
    }
  });

  it("queries only the provisioned Prometheus data source, each panel at least once", () => {
    const provisioned = parseYaml(read("deploy/grafana/provisioning/datasources/prometheus.yml")) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    const [source] = provisioned.datasources;
    expect(source!.type).toBe("prometheus");
    expect(source!.url).toBe("http://prometheus:9090"); // the compose service
    expect(queryPanels.length).toBeGreaterThanOrEqual(10);
    for (const p of queryPanels) {
      expect(p.targets?.length, `${p.title}: targets`).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe(source!.uid);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `${p.title}: refIds`).toBe(refIds.length);
      for (const t of p.targets!) {
        expect(t.datasource.uid, p.title).toBe(source!.uid);
        expect(t.expr.trim(), p.title).not.toBe("");
      }
    }
  });

  it("every expression is valid PromQL (parsed by promtool)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dash-"));
    try {
      // Grafana's $__rate_interval becomes a real range; each expression a recording rule.
      const asRules = {
        groups: [
          {
            name: "dashboard",
            rules: dashboardExprs.map((expr, i) => ({
              record: `dashboard:expr_${i}`,
              expr: expr.replaceAll("$__rate_interval", "1m"),
            })),
          },
        ],
      };
      writeFileSync(path.join(dir, "dashboard.rules.json"), JSON.stringify(asRules));
      const r = promtool(["check", "rules", "dashboard.rules.json"], dir);
      expect(r.ok, r.output).toBe(true);
      // And an invalid one is refused: the check is real.
      writeFileSync(
        path.join(dir, "bad.rules.json"),
        JSON.stringify({ groups: [{ name: "bad", rules: [{ record: "bad:x", expr: "sum by (stream (x)" }] }] }),
      );
      expect(promtool(["check", "rules", "bad.rules.json"], dir).ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is provisioned where compose mounts it", () => {
    const provider = parseYaml(read("deploy/grafana/provisioning/dashboards/order-gateway.yml")) as {
      providers: { options: { path: string } }[];
    };
    const compose = parseYaml(read("docker-compose.yml")) as {
      services: Record<string, { volumes?: string[]; profiles?: string[]; environment?: Record<string, string> }>;
    };
    const grafana = compose.services.grafana!;
    expect(grafana.profiles).toEqual(["monitoring"]);
    expect(compose.services.prometheus!.profiles).toEqual(["monitoring"]);
    expect(grafana.volumes).toContain(`./deploy/grafana/dashboards:${provider.providers[0]!.options.path}:ro`);
    expect(grafana.volumes).toContain("./deploy/grafana/provisioning:/etc/grafana/provisioning:ro");
    expect(grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(
      `${provider.providers[0]!.options.path}/order-gateway.json`,
    );
  });
});

describe("Prometheus config for compose (deploy/prometheus/prometheus.yml)", () => {
  it("passes promtool check config, loading the alerting rules compose mounts", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "prom-"));
    try {
      // Compose mounts alerts.yml at /etc/prometheus/alerts.yml; point the copy at the file here.
      const config = read("deploy/prometheus/prometheus.yml").replace(
        "/etc/prometheus/alerts.yml",
        path.join(promDir, "alerts.yml"),
      );
      writeFileSync(path.join(dir, "prometheus.yml"), config);
      const r = promtool(["check", "config", "prometheus.yml"], dir);
      expect(r.ok, r.output).toBe(true);
      expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const compose = read("docker-compose.yml");
    expect(compose).toContain("./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro");
  });
});

describe("metrics the rules and the dashboard use", () => {
  let env: TestEnv;
  let exported: Set<string>;

  beforeAll(async () => {
    env = await createTestEnv("ops-kit"); // torn down after the file by createTestEnv
    const app = await env.start(["api", "relay", "inventory", "orders"]);
    const res = await fetch(`http://127.0.0.1:${app.port}/metrics`);
    const text = await res.text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  });

  it("are all exported by the app (a renamed metric breaks this, not a silent alert)", () => {
    expect(exported.has("dead_letters_waiting")).toBe(true);
    const used = new Set([...rules.map((r) => r.expr), ...dashboardExprs].flatMap(metricNames));
    expect(used.size).toBeGreaterThanOrEqual(12);
    for (const name of used) expect(exported.has(name) || exported.has(baseName(name)), name).toBe(true);
    // The name extraction itself: a made-up metric would be caught.
    expect(metricNames("sum by (stream) (rate(no_such_metric_total[5m])) > 0")).toEqual(["no_such_metric_total"]);
  });
});
