import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

/**
 * The deployment recipes checked by the validators their ecosystems use: hadolint for the Dockerfile,
 * compose-go (Docker Compose's loader, with the Compose specification's schema) for the Compose file, and
 * `helm lint` plus `helm template` piped into kubernetes-validate with strict schemas for the chart.
 * deploy/tools/install.sh installs them (npm test runs it first; a spec run by hand runs it here).
 */
const DEPLOY = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(DEPLOY);
const CHART = path.join(DEPLOY, "helm/reckon");
const COMPOSE = path.join(DEPLOY, "compose/compose.yaml");
const COMPOSE_ENV = path.join(DEPLOY, "compose/.env.example");
const ROLES = ["ingest", "relay", "serving", "analytics"];
const PROJECTIONS = ["features", "recommendations", "analytics", "search", "item-detail"];

let tools: Record<"HADOLINT" | "KUBERNETES_VALIDATE" | "HELM" | "COMPOSE_VALIDATE", string>;

const run = (cmd: string, args: string[], input?: string) =>
  spawnSync(cmd, args, { encoding: "utf8", input, cwd: REPO, maxBuffer: 64 * 1024 * 1024 });

const keyValues = [
  "apiKeys.write=w".padEnd(32, "w"),
  "apiKeys.read=r".padEnd(32, "r"),
  "apiKeys.admin=a".padEnd(32, "a"),
];
const setArgs = (extra: string[] = []) => [...keyValues, ...extra].flatMap((v) => ["--set", v]);

function helmTemplate(extra: string[] = []) {
  return run(tools.HELM, ["template", "reckon", CHART, "--namespace", "reckon", ...setArgs(extra)]);
}

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

before(() => {
  const lines = execFileSync("bash", [path.join(DEPLOY, "tools/install.sh")], { encoding: "utf8" })
    .trim()
    .split("\n");
  tools = Object.fromEntries(lines.map((l) => l.split("=") as [string, string])) as typeof tools;
});

describe("Dockerfile", () => {
  it("passes hadolint", () => {
    const result = run(tools.HADOLINT, ["deploy/docker/Dockerfile"]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it("is what hadolint would fail if it ran as root from an unpinned base (the linter really checks)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "reckon-dockerfile-"));
    const bad = path.join(dir, "Dockerfile");
    writeFileSync(bad, "FROM node:latest\nRUN apt-get install -y curl\nCMD node app.js\n");
    const result = run(tools.HADOLINT, [bad]);
    assert.notEqual(result.status, 0);
    assert.match(result.stdout, /DL3007/); // latest tag
  });

  it("runs as a non-root user, with a HEALTHCHECK on /healthz and `reckon start --roles` as the entry point", () => {
    const text = readFileSync(path.join(DEPLOY, "docker/Dockerfile"), "utf8");
    assert.match(text, /^USER 1000:1000$/m);
    assert.match(text, /^HEALTHCHECK .*\n.*\/healthz/m);
    assert.match(text, /^ENTRYPOINT \["node", "--import", "tsx", "bin\/reckon.ts"\]$/m);
    assert.match(text, /^CMD \["start", "--roles", /m);
    assert.match(text, /npm ci --omit=dev/);
  });

  it("sends the build only what the image copies (.dockerignore)", () => {
    const ignore = readFileSync(path.join(REPO, ".dockerignore"), "utf8");
    const copied = [
      ...readFileSync(path.join(DEPLOY, "docker/Dockerfile"), "utf8").matchAll(
        /^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm,
      ),
    ].flatMap((m) => m[1]!.split(" "));
    for (const source of copied) assert.ok(ignore.includes(`!${source}`), `${source} is copied but ignored`);
  });
});

describe("Compose", () => {
  it("is valid Compose (the specification's schema and Docker Compose's loader)", () => {
    const result = run(tools.COMPOSE_VALIDATE, [COMPOSE, COMPOSE_ENV]);
    assert.equal(result.status, 0, result.stderr);
  });

  it("refuses a file the specification does not allow (the validator really checks)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "reckon-compose-"));
    const bad = path.join(dir, "compose.yaml");
    writeFileSync(
      bad,
      readFileSync(COMPOSE, "utf8").replace("condition: service_healthy", "condition: eventually"),
    );
    const result = run(tools.COMPOSE_VALIDATE, [bad, COMPOSE_ENV]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /condition value must be one of/);
  });

  it("refuses to start without the secrets .env must set", () => {
    const result = run(tools.COMPOSE_VALIDATE, [COMPOSE]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /required variable POSTGRES_PASSWORD is missing a value/);
  });

  it("runs the production shape: the stores, two ingest, relay, projectors split by projection, two serving, analytics", () => {
    const project = JSON.parse(run(tools.COMPOSE_VALIDATE, ["--json", COMPOSE, COMPOSE_ENV]).stdout) as {
      services: Record<
        string,
        {
          command?: string[];
          deploy?: { replicas?: number };
          environment: Record<string, string>;
          healthcheck?: { test?: string[]; disable?: boolean };
          depends_on?: Record<string, { condition: string }>;
        }
      >;
      volumes: Record<string, unknown>;
    };
    const s = project.services;
    for (const store of ["postgres", "kafka", "redis", "clickhouse"])
      assert.ok(s[store]?.healthcheck?.test, store);
    assert.equal(s.ingest?.deploy?.replicas, 2);
    assert.equal(s.serving?.deploy?.replicas, 2);
    assert.deepEqual(s.relay?.command, ["start", "--roles", "relay"]);
    for (const p of PROJECTIONS) {
      assert.deepEqual(s[`projectors-${p}`]?.command, ["start", "--roles", "projectors"]);
      assert.equal(s[`projectors-${p}`]?.environment.RECKON_PROJECTIONS, p);
    }
    for (const role of [
      "ingest",
      "relay",
      "serving",
      "analytics",
      ...PROJECTIONS.map((p) => `projectors-${p}`),
    ]) {
      assert.equal(s[role]?.depends_on?.migrate?.condition, "service_completed_successfully", role);
      assert.equal(s[role]?.depends_on?.kafka?.condition, "service_healthy", role);
      assert.match(s[role]!.healthcheck!.test!.join(" "), /\/healthz/, role);
      assert.match(s[role]!.environment.CLICKHOUSE_URL!, /^http:\/\/reckon:.+@clickhouse:8123$/);
    }
    assert.deepEqual(Object.keys(project.volumes).sort(), [
      "clickhouse-data",
      "kafka-data",
      "postgres-data",
      "redis-data",
    ]);
  });
});

describe("Helm chart", () => {
  it("passes helm lint", () => {
    const result = run(tools.HELM, ["lint", "--strict", CHART, ...setArgs()]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it("renders manifests that strict Kubernetes schemas accept", () => {
    const rendered = helmTemplate(["serviceMonitor.enabled=false"]);
    assert.equal(rendered.status, 0, rendered.stderr);
    const dir = mkdtempSync(path.join(tmpdir(), "reckon-chart-"));
    const file = path.join(dir, "rendered.yaml");
    writeFileSync(file, rendered.stdout);
    const result = run(tools.KUBERNETES_VALIDATE, ["--strict", "--quiet", file]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it("has kubernetes-validate refuse a manifest with an unknown field (the validator really checks)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "reckon-chart-"));
    const file = path.join(dir, "bad.yaml");
    writeFileSync(file, helmTemplate().stdout.replace("readinessProbe:", "readinessProbes:"));
    const result = run(tools.KUBERNETES_VALIDATE, ["--strict", "--quiet", file]);
    assert.notEqual(result.status, 0);
  });

  it("renders one Deployment per role and per projection, with probes, HPAs, PDBs, Secrets, a ConfigMap and NetworkPolicies", () => {
    const objects = parseAllDocuments(helmTemplate(["serviceMonitor.enabled=true"]).stdout)
      .map((d) => d.toJS() as K8sObject)
      .filter(Boolean);
    const named = (kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .map((o) => o.metadata.name)
        .sort();
    const components = [...ROLES, ...PROJECTIONS.map((p) => `projectors-${p}`)];
    assert.deepEqual(named("Deployment"), components.map((c) => `reckon-${c}`).sort());
    assert.deepEqual(named("HorizontalPodAutoscaler"), ["reckon-ingest", "reckon-serving"]);
    assert.deepEqual(named("PodDisruptionBudget"), [
      "reckon-ingest",
      "reckon-projectors-features",
      "reckon-projectors-recommendations",
      "reckon-serving",
    ]);
    assert.deepEqual(named("Secret"), ["reckon-api-keys", "reckon-stores"]);
    assert.deepEqual(named("ConfigMap"), ["reckon-config"]);
    assert.deepEqual(named("NetworkPolicy"), ["reckon-api", "reckon-workers"]);
    assert.deepEqual(named("ServiceMonitor"), ["reckon"]);
    for (const d of objects.filter((o) => o.kind === "Deployment")) {
      const container = (
        d.spec as {
          template: { spec: { containers: Array<Record<string, { httpGet?: { path: string } }>> } };
        }
      ).template.spec.containers[0]!;
      assert.equal(container.readinessProbe?.httpGet?.path, "/readyz", d.metadata.name);
      assert.equal(container.livenessProbe?.httpGet?.path, "/healthz", d.metadata.name);
    }
    const features = objects.find(
      (o) => o.kind === "Deployment" && o.metadata.name === "reckon-projectors-features",
    )!;
    assert.match(JSON.stringify(features.spec), /"name":"RECKON_PROJECTIONS","value":"features"/);
  });

  it("renders a ConfigMap with every setting of the configuration schema at its default, overridable, and no secret", () => {
    const configOf = (extra: string[] = []) => {
      const result = helmTemplate(["kafka.partitions=8", ...extra]);
      assert.equal(result.status, 0, result.stderr);
      const map = parseAllDocuments(result.stdout)
        .map((d) => d.toJS() as K8sObject & { data?: Record<string, string> })
        .find((o) => o?.kind === "ConfigMap")!;
      return map.data!;
    };
    const data = configOf();
    assert.equal(data.RECKON_TRAIN_INTERVAL_MINUTES, "60");
    assert.equal(data.RECKON_CONSUMED_TYPES, "view,click,add_to_cart,purchase,rating");
    assert.equal(data.KAFKA_PARTITIONS, "8");
    const generated = parse(readFileSync(path.join(CHART, "files/configuration.yaml"), "utf8")) as {
      settings: Record<string, string>;
      secrets: string[];
    };
    for (const [name, value] of Object.entries(generated.settings)) assert.equal(data[name], value, name);
    for (const name of [...generated.secrets, "DATABASE_URL", "RECKON_READ_KEYS", "CLICKHOUSE_HTTP_PASSWORD"])
      assert.equal(name in data, false, `${name} is in the ConfigMap`);
    assert.equal(configOf(["config.RECKON_TRAIN_INTERVAL_MINUTES=15"]).RECKON_TRAIN_INTERVAL_MINUTES, "15");
  });

  it("refuses a store URL or secret in values `config` (they belong in the Secrets)", () => {
    const result = helmTemplate(["config.REDIS_URL=redis://elsewhere:6379"]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /config\.REDIS_URL is not a ConfigMap setting/);
  });

  it("ties consumer replicas to the topic's partitions: more replicas than partitions do not render", () => {
    const result = helmTemplate(["kafka.partitions=2", "projectors.projections.features.replicas=3"]);
    assert.notEqual(result.status, 0);
    assert.match(
      result.stderr,
      /projectors\.projections\.features\.replicas \(3\) exceeds kafka\.partitions \(2\)/,
    );
  });

  it("refuses to render without API keys", () => {
    const result = run(tools.HELM, ["template", "reckon", CHART]);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /apiKeys\.write \(or apiKeys\.existingSecret\) is required/);
  });
});
