// Checks the rendered Kubernetes manifests of deploy/k8s (k8s_manifests_test.sh
// renders them with `kubectl kustomize`, one YAML file per kustomization):
//   1. every object validates against the Kubernetes schemas of the npm
//      package kubernetes-models (types, enums, required fields), offline;
//      an unknown apiVersion/kind or an unknown field anywhere is an error
//      (the package's validators accept extra fields, so the fields are
//      checked here against its type declarations);
//   2. the deployment's invariants (security context, probes on the health
//      port, drain within the grace period, the Indexed audit Job, the
//      overlays' ledger, replicas and TLS, the flags exist).
// Usage: node k8s_manifests_check.js NODE_MODULES SOURCE_DIR RENDERED_DIR
// Prints every problem; exits 1 if there is any.
"use strict";
const fs = require("fs");
const path = require("path");

const [nodeModules, sourceDir, renderedDir] = process.argv.slice(2);
const YAML = require(path.join(nodeModules, "yaml"));
const modelsDir = path.join(nodeModules, "kubernetes-models");

const problems = [];
function problem(where, message) {
  problems.push(`${where}: ${message}`);
}

// ---- 1. Schemas --------------------------------------------------------

// The module of apiVersion/kind in kubernetes-models: "apps/v1" Deployment
// is apps/v1/Deployment, "v1" Service is v1/Service.
function modelPath(apiVersion, kind) {
  const file = path.join(modelsDir, apiVersion, kind + ".js");
  return /^[A-Za-z0-9./-]+$/.test(apiVersion) && /^[A-Za-z]+$/.test(kind) &&
      fs.existsSync(file) ? file : null;
}

// The fields of each interface declared in a .d.ts file, with the
// declaration file of each field's type (null: a scalar, a map or a union).
const declarations = new Map();
function resolveImport(fromFile, spec) {
  const base = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec)
                                    : path.join(nodeModules, spec);
  return base + ".d.ts";
}
function declaration(file) {
  if (declarations.has(file)) return declarations.get(file);
  const text = fs.readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";/gm)) {
    imports.set(m[1], resolveImport(file, m[2]));
  }
  const body = /^export interface \w+(?: extends (\w+))? \{\n([\s\S]*?)^\}/m
      .exec(text);
  let fields = null;  // null: not an object type (an alias such as Quantity)
  if (body) {
    fields = new Map();
    if (body[1] === "TypeMeta") {
      fields.set("apiVersion", null);
      fields.set("kind", null);
    }
    for (const m of body[2].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
      const type = m[2].replace(/;$/, "");
      const ref = /^(?:Array<)?(I\w+)>?$/.exec(type);
      fields.set(m[1], ref && imports.has(ref[1])
          ? {file: imports.get(ref[1]), array: type.startsWith("Array<")}
          : null);
    }
  }
  declarations.set(file, fields);
  return fields;
}
function checkFields(value, file, where) {
  const fields = declaration(file);
  if (fields === null || value === null || typeof value !== "object" ||
      Array.isArray(value)) {
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (!fields.has(key)) {
      problem(where, `unknown field "${key}"`);
      continue;
    }
    const type = fields.get(key);
    if (type === null) continue;
    if (type.array && Array.isArray(child)) {
      child.forEach((item, i) =>
          checkFields(item, type.file, `${where}.${key}[${i}]`));
    } else if (!type.array) {
      checkFields(child, type.file, `${where}.${key}`);
    }
  }
}

function validateSchema(object, where) {
  const file = modelPath(String(object.apiVersion), String(object.kind));
  if (file === null) {
    problem(where, `unknown apiVersion/kind ${object.apiVersion} ` +
                       `${object.kind}`);
    return;
  }
  const Model = require(file)[object.kind];
  try {
    new Model(object).validate();
  } catch (error) {
    problem(where, `schema: ${error.message}`);
  }
  checkFields(object, file.replace(/\.js$/, ".d.ts"), where);
}

// ---- 2. Invariants -----------------------------------------------------

// The value of --NAME=VALUE in args (the last one wins, as in Abseil).
function flag(args, name) {
  let value;
  for (const arg of args || []) {
    if (arg === `--${name}`) value = "true";
    if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  }
  return value;
}
function seconds(duration) {  // Abseil durations: 90s, 5m, 1h, 1.5s, 0
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(duration || "");
  if (!m) return NaN;
  const scale = {ms: 0.001, s: 1, m: 60, h: 3600}[m[2] || "s"];
  return Number(m[1]) * scale;
}

// The flags each command defines (ABSL_FLAG in its main file).
const mainFiles = {
  "needlecheckd": "service/needlecheckd_main.cc",
  "needlecheck-cds-hooks": "adapters/cds_hooks/cds_hooks_main.cc",
  "needlecheck-audit": "adapters/batch/needlecheck_audit_main.cc",
};
// The client TLS flags a main defines with
// NEEDLECHECK_CLIENT_TLS_FLAGS(prefix, ...) (adapters/common/
// client_tls_flags.h): the macro's `prefix##name` flags, with the prefix.
function clientTlsFlagNames() {
  const text = fs.readFileSync(
      path.join(sourceDir, "adapters/common/client_tls_flags.h"), "utf8");
  return [...text.matchAll(/ABSL_FLAG\(\s*[\w:<>]+,\s*prefix##(\w+),/g)]
      .map((m) => m[1]);
}
function definedFlags(command) {
  const text = fs.readFileSync(path.join(sourceDir, mainFiles[command]),
                               "utf8");
  const names = [...text.matchAll(/ABSL_FLAG\(\s*[\w:<>]+,\s*(\w+),/g)]
      .map((m) => m[1]);
  for (const m of text.matchAll(/^NEEDLECHECK_CLIENT_TLS_FLAGS\(\s*(\w*)\s*,/gm)) {
    for (const name of clientTlsFlagNames()) names.push(m[1] + name);
  }
  return new Set(names);
}

// The PostgreSQL ledger's flags (--ledger=postgres) come with the change
// that adds that ledger; in a tree without it they are noted, not refused.
// Once needlecheckd knows postgres they are checked like any other.
function awaitingPostgres(command, name) {
  if (command !== "needlecheckd" ||
      !["ledger_dsn", "ledger_password_file"].includes(name)) {
    return false;
  }
  const text = fs.readFileSync(path.join(sourceDir, mainFiles[command]),
                               "utf8");
  if (text.includes("postgres")) return false;
  console.log(`NOTE --${name}: needlecheckd has no PostgreSQL ledger yet`);
  return true;
}

function podSpecOf(object) {
  return object.spec && object.spec.template && object.spec.template.spec;
}

// Every workload: non-root, read-only root, no privilege escalation, no
// capabilities, the runtime's seccomp profile, requests and limits, our
// image, a command found on the image's PATH, and only flags that exist.
function checkWorkload(object, where) {
  const pod = podSpecOf(object);
  const podContext = pod.securityContext || {};
  if (podContext.runAsNonRoot !== true) problem(where, "pod runAsNonRoot");
  if (podContext.runAsUser !== 65532) problem(where, "pod runAsUser 65532");
  if (!podContext.seccompProfile ||
      podContext.seccompProfile.type !== "RuntimeDefault") {
    problem(where, "pod seccompProfile RuntimeDefault");
  }
  for (const c of pod.containers) {
    const at = `${where} container ${c.name}`;
    const s = c.securityContext || {};
    if (s.runAsNonRoot !== true) problem(at, "runAsNonRoot");
    if (s.runAsUser !== 65532) problem(at, "runAsUser 65532");
    if (s.readOnlyRootFilesystem !== true) problem(at, "readOnlyRootFilesystem");
    if (s.allowPrivilegeEscalation !== false) {
      problem(at, "allowPrivilegeEscalation false");
    }
    if (!s.capabilities || !(s.capabilities.drop || []).includes("ALL")) {
      problem(at, "capabilities drop ALL");
    }
    if (!s.seccompProfile || s.seccompProfile.type !== "RuntimeDefault") {
      problem(at, "seccompProfile RuntimeDefault");
    }
    const r = c.resources || {};
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (!r[kind] || !r[kind][resource]) {
          problem(at, `resources.${kind}.${resource}`);
        }
      }
    }
    if (!/^needlecheck(:|$)/.test(c.image)) problem(at, `image ${c.image}`);
    const command = (c.command || [])[0];
    if (!(command in mainFiles)) {
      problem(at, `command ${command}: not one of ${Object.keys(mainFiles)}`);
      continue;
    }
    const defined = definedFlags(command);
    for (const arg of c.args || []) {
      const m = /^--(\w+)/.exec(arg);
      if (m && !defined.has(m[1]) && !awaitingPostgres(command, m[1])) {
        problem(at, `no such flag --${m[1]}`);
      }
    }
  }
}

// The volume mounted at the folder holding `file`, in container `c`.
function volumeFor(pod, c, file) {
  for (const mount of c.volumeMounts || []) {
    if (file === mount.mountPath || file.startsWith(mount.mountPath + "/")) {
      return pod.volumes.find((v) => v.name === mount.name);
    }
  }
  return undefined;
}
function expectSecretFile(pod, c, file, where) {
  const volume = file && volumeFor(pod, c, file);
  if (!volume || !volume.secret) {
    problem(where, `${file}: not in a mounted Secret`);
  }
}

function byKind(objects, kind, name) {
  return objects.filter((o) => o.kind === kind &&
                               (name === undefined || o.metadata.name === name));
}
function selects(selector, labels) {
  return Object.entries((selector || {}).matchLabels || {})
      .every(([k, v]) => labels[k] === v);
}

function checkService(objects, bundle) {
  const where = bundle;
  const [deployment] = byKind(objects, "Deployment", "needlecheckd");
  if (!deployment) return problem(where, "no needlecheckd Deployment");
  const namespace = deployment.metadata.namespace;
  const pod = podSpecOf(deployment);
  const podLabels = deployment.spec.template.metadata.labels;
  const c = pod.containers.find((x) => x.name === "needlecheckd");
  const args = c.args;
  const at = `${bundle} needlecheckd`;

  // Probes: gRPC health checks on --health_listen's port.
  const healthPort = Number((flag(args, "health_listen") || "").split(":")
                                .pop());
  if (!healthPort) problem(at, "no --health_listen");
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    if (!c[probe] || !c[probe].grpc || c[probe].grpc.port !== healthPort) {
      problem(at, `${probe}: a grpc probe on the health port ${healthPort}`);
    }
  }
  // Drain within the grace period (with a margin to exit).
  const drain = Number(flag(args, "drain_seconds") || 10) +
      seconds(flag(args, "drain_lame_duck") || "0");
  if (!(pod.terminationGracePeriodSeconds >= drain + 5)) {
    problem(at, `terminationGracePeriodSeconds ` +
                    `${pod.terminationGracePeriodSeconds} not above the ` +
                    `drain (${drain} s) + 5 s`);
  }
  if (!(seconds(flag(args, "max_connection_age")) > 0)) {
    problem(at, "--max_connection_age not set");
  }
  // The knowledge base from the generated (hash-named) ConfigMap.
  const kb = flag(args, "knowledge_base") || "";
  const kbVolume = volumeFor(pod, c, kb);
  const kbMap = kbVolume && kbVolume.configMap &&
      byKind(objects, "ConfigMap", kbVolume.configMap.name)[0];
  if (!kbMap || !/^needlecheck-knowledge-base-\w+$/.test(kbMap.metadata.name) ||
      !(path.basename(kb) in (kbMap.data || {}))) {
    problem(at, `--knowledge_base=${kb}: not in the generated ConfigMap`);
  }
  const dataDir = flag(args, "data_dir");
  if (dataDir !== "/var/lib/needlecheck" || !volumeFor(pod, c, dataDir)) {
    problem(at, "--data_dir=/var/lib/needlecheck on a volume");
  }

  // Services: headless for round_robin, ClusterIP.
  const services = byKind(objects, "Service")
      .filter((s) => selects({matchLabels: s.spec.selector}, podLabels));
  const headless = services.find((s) => s.spec.clusterIP === "None");
  if (!headless || !headless.spec.ports.some((p) => p.port === 50051)) {
    problem(where, "no headless Service on 50051 for needlecheckd");
  }
  if (!services.some((s) => s.spec.clusterIP !== "None")) {
    problem(where, "no ClusterIP Service for needlecheckd");
  }
  const headlessTarget = headless &&
      `dns:///${headless.metadata.name}.${namespace}.svc.cluster.local:50051`;

  // The gateway reaches needlecheckd through the headless Service.
  const [gateway] = byKind(objects, "Deployment", "needlecheck-cds-hooks");
  const gatewayContainer = gateway && podSpecOf(gateway).containers[0];
  if (!gateway) {
    problem(where, "no gateway Deployment");
  } else if (flag(gatewayContainer.args, "screening_service") !==
             headlessTarget) {
    problem(where, `gateway --screening_service is not ${headlessTarget}`);
  }
  if (!byKind(objects, "Service", "needlecheck-cds-hooks").length) {
    problem(where, "no gateway Service");
  }

  // NetworkPolicy: only the gateway, the audit jobs and monitoring.
  const policies = byKind(objects, "NetworkPolicy")
      .filter((p) => selects(p.spec.podSelector, podLabels));
  if (!policies.length) problem(where, "no NetworkPolicy for needlecheckd");
  const allowed = ["needlecheck-cds-hooks", "needlecheck-audit"];
  for (const policy of policies) {
    if (!(policy.spec.policyTypes || []).includes("Ingress")) {
      problem(where, "NetworkPolicy without Ingress");
    }
    for (const rule of policy.spec.ingress || []) {
      for (const peer of rule.from || [{}]) {
        const name = ((peer.podSelector || {}).matchLabels || {})[
            "app.kubernetes.io/name"];
        const ok = peer.namespaceSelector
            ? Object.keys(peer.namespaceSelector.matchLabels || {}).length > 0
            : allowed.includes(name);
        if (!ok || peer.ipBlock) {
          problem(where, `NetworkPolicy admits ${JSON.stringify(peer)}`);
        }
      }
    }
  }
  if (gateway && !selects({matchLabels: {"app.kubernetes.io/name":
                                             "needlecheck-cds-hooks"}},
                          gateway.spec.template.metadata.labels)) {
    problem(where, "the gateway's pods lack the label the policy admits");
  }

  const hpa = byKind(objects, "HorizontalPodAutoscaler")[0];
  const pdb = byKind(objects, "PodDisruptionBudget")[0];
  const replicas = deployment.spec.replicas;
  if (bundle === "production") {
    if (!(replicas >= 3)) problem(at, `replicas ${replicas} < 3`);
    if (!hpa || hpa.apiVersion !== "autoscaling/v2" ||
        !(hpa.spec.minReplicas >= 3)) {
      problem(where, "no autoscaling/v2 HPA with minReplicas >= 3");
    }
    if (!pdb) problem(where, "no PodDisruptionBudget");
    if (flag(args, "ledger") !== "postgres") problem(at, "--ledger=postgres");
    const dsn = flag(args, "ledger_dsn") || "";
    if (!/host=\S+/.test(dsn) || !/dbname=\S+/.test(dsn) ||
        !/user=\S+/.test(dsn) || /password/i.test(dsn)) {
      problem(at, `--ledger_dsn "${dsn}": host, dbname, user, no password`);
    }
    const passwordEnv = (c.env || []).find((e) => e.name === "PGPASSWORD");
    if (passwordEnv ? !(passwordEnv.valueFrom || {}).secretKeyRef
                    : !flag(args, "ledger_password_file")) {
      problem(at, "the password neither a Secret file nor PGPASSWORD");
    } else if (!passwordEnv) {
      expectSecretFile(pod, c, flag(args, "ledger_password_file"), at);
    }
    for (const name of ["tls_cert", "tls_key", "tls_client_ca"]) {
      expectSecretFile(pod, c, flag(args, name), `${at} --${name}`);
    }
    if (flag(args, "insecure_plaintext")) problem(at, "--insecure_plaintext");
    if (gateway) {
      const gatewayPod = podSpecOf(gateway);
      for (const name of ["screening_tls_ca", "screening_tls_cert",
                          "screening_tls_key"]) {
        expectSecretFile(gatewayPod, gatewayContainer,
                         flag(gatewayContainer.args, name),
                         `${bundle} gateway --${name}`);
      }
    }
  } else if (bundle === "single-node") {
    if (replicas !== 1) problem(at, `replicas ${replicas}, not 1`);
    if (hpa) problem(where, "an HPA on the single SQLite replica");
    if (pdb && !(pdb.spec.maxUnavailable >= 1)) {
      problem(where, "a PodDisruptionBudget that blocks node drains");
    }
    if ((flag(args, "ledger") || "sqlite") !== "sqlite") {
      problem(at, "--ledger=sqlite");
    }
    const data = volumeFor(pod, c, "/var/lib/needlecheck");
    if (!data || !data.persistentVolumeClaim) {
      problem(at, "the SQLite ledger is not on a PersistentVolumeClaim");
    }
    if (deployment.spec.strategy.type !== "Recreate") {
      problem(at, "a ReadWriteOnce ledger volume needs strategy Recreate");
    }
  }
}

// The Indexed audit Job; returns its shard count.
function checkAudit(objects, bundle) {
  const [job] = byKind(objects, "Job", "needlecheck-audit");
  if (!job) return problem(bundle, "no needlecheck-audit Job");
  const at = `${bundle} Job needlecheck-audit`;
  const spec = job.spec;
  const pod = spec.template.spec;
  const c = pod.containers[0];
  const count = Number(flag(c.args, "shard_count"));
  if (spec.completionMode !== "Indexed") problem(at, "completionMode Indexed");
  if (!(count >= 1) || spec.completions !== count ||
      spec.parallelism !== count) {
    problem(at, `completions ${spec.completions}, parallelism ` +
                    `${spec.parallelism} and --shard_count=${count} differ`);
  }
  if (!flag(c.args, "resume")) problem(at, "no --resume (retried pods)");
  if (flag(c.args, "shard") !== undefined) problem(at, "--shard given");
  if (!/\$\(JOB_COMPLETION_INDEX\)/.test(flag(c.args, "out") || "")) {
    problem(at, "--out is not per index ($(JOB_COMPLETION_INDEX))");
  }
  if (pod.restartPolicy !== "Never") problem(at, "restartPolicy Never");
  const rules = (spec.podFailurePolicy || {}).rules || [];
  if (!rules.some((r) => r.action === "FailJob" && r.onExitCodes &&
                         r.onExitCodes.operator === "In" &&
                         r.onExitCodes.values.includes(2) &&
                         r.onExitCodes.containerName === c.name)) {
    problem(at, "podFailurePolicy: exit code 2 -> FailJob");
  }
  if (!rules.some((r) => r.action === "Ignore" &&
                         (r.onPodConditions || []).some(
                             (p) => p.type === "DisruptionTarget"))) {
    problem(at, "podFailurePolicy: DisruptionTarget -> Ignore");
  }
  if (!(spec.backoffLimitPerIndex >= 1 || spec.backoffLimit >= 1)) {
    problem(at, "failures other than exit 2 are not retried");
  }
  const service = flag(c.args, "service") || "";
  if (!service.startsWith("dns:///needlecheckd-headless." +
                          `${job.metadata.namespace}.svc`)) {
    problem(at, `--service=${service}: not the headless Service`);
  }
  if (bundle.startsWith("production")) {
    for (const name of ["tls_ca", "tls_cert", "tls_key"]) {
      expectSecretFile(pod, c, flag(c.args, name), `${at} --${name}`);
    }
  }
  return count;
}

function checkMerge(objects, bundle, shardCount, shardOut) {
  const [job] = byKind(objects, "Job", "needlecheck-audit-merge");
  if (!job) return problem(bundle, "no needlecheck-audit-merge Job");
  const args = job.spec.template.spec.containers[0].args;
  const expected = Array.from({length: shardCount},
                              (_, i) => shardOut.replace(
                                  "$(JOB_COMPLETION_INDEX)", String(i)));
  const shards = args.filter((a) => !a.startsWith("--")).slice(1);
  if (args[0] !== "merge" || !flag(args, "out") ||
      JSON.stringify(shards) !== JSON.stringify(expected)) {
    problem(bundle, `merge args ${JSON.stringify(args)}: expected merge ` +
                        `--out=... ${expected.join(" ")}`);
  }
}

// ---- main --------------------------------------------------------------

const bundles = {};
for (const file of fs.readdirSync(renderedDir).sort()) {
  if (!file.endsWith(".yaml")) continue;
  const bundle = file.replace(/\.yaml$/, "");
  const text = fs.readFileSync(path.join(renderedDir, file), "utf8");
  bundles[bundle] = YAML.parseAllDocuments(text).map((d) => d.toJS())
      .filter((o) => o !== null);
  for (const object of bundles[bundle]) {
    const where = `${bundle}: ${object.kind}/${(object.metadata || {}).name}`;
    validateSchema(object, where);
    if (["Deployment", "Job"].includes(object.kind)) {
      checkWorkload(object, where);
    }
  }
}
for (const bundle of ["single-node", "production"]) {
  if (!bundles[bundle]) problem(bundle, "not rendered");
  else checkService(bundles[bundle], bundle);
}
let shardCount = 0;
let shardOut = "";
for (const bundle of ["single-node-audit", "production-audit"]) {
  if (!bundles[bundle]) {
    problem(bundle, "not rendered");
    continue;
  }
  shardCount = checkAudit(bundles[bundle], bundle) || 0;
  const job = byKind(bundles[bundle], "Job", "needlecheck-audit")[0];
  shardOut = flag(job.spec.template.spec.containers[0].args, "out") || "";
}
if (!bundles["audit-merge"]) problem("audit-merge", "not rendered");
else checkMerge(bundles["audit-merge"], "audit-merge", shardCount, shardOut);

for (const p of problems) console.log(`PROBLEM ${p}`);
const objects = Object.values(bundles).reduce((n, b) => n + b.length, 0);
console.log(`${objects} objects in ${Object.keys(bundles).length} ` +
            `kustomizations: ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
