#!/usr/bin/env python3
"""Asserts on the objects `helm template` rendered for the messaging chart.

Each case is a ci/*-values.yaml file and its rendered output. The expectations
follow from the chart's values.yaml merged with the case's values (so a case
that enables the HPA must render one, a case with an existing Secret must
render none, ...). Called by scripts/check-helm.sh; prints one line per
failed assertion and exits non-zero if there is any.

It also checks the chart's Grafana dashboards (dashboards/*.json): every
metric and label their queries use must be one the server exports, as read
from the server's sources, so a renamed metric cannot leave a blank panel.
`--dashboard FILE` checks only the given dashboards.

    check_helm_manifests.py --chart helm/messaging \
        --case NAME VALUES_FILE RENDERED_FILE [--case ...] [--json-out FILE]
    check_helm_manifests.py --chart helm/messaging --dashboard FILE
"""

import argparse
import base64
import copy
import glob
import json
import os
import re
import sys

import yaml

SECRET_ENV = ("DATABASE_URL", "MESSAGING_JWT_SECRET")
HOOK_PHASES = {"pre-install", "pre-upgrade"}
# A URL that carries a password: scheme://user:password@host
URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]+:[^/@\s]+@")


def deep_merge(base, override):
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_rendered(path):
    """Returns [(source template, object)] from helm template output."""
    objects = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for chunk in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        match = re.search(r"^# Source: (\S+)", chunk, flags=re.MULTILINE)
        obj = yaml.safe_load(chunk)
        if obj:
            objects.append((match.group(1) if match else "?", obj))
    return objects


class Case:
    def __init__(self, name, values, objects):
        self.name = name
        self.values = values
        self.objects = [obj for _, obj in objects]
        self.sources = [src for src, _ in objects]
        self.failures = []

    def check(self, condition, message):
        if not condition:
            self.failures.append(f"[{self.name}] {message}")
        return bool(condition)

    def of_kind(self, kind):
        return [o for o in self.objects if o.get("kind") == kind]

    def one(self, kind, predicate=lambda o: True, what=None):
        found = [o for o in self.of_kind(kind) if predicate(o)]
        self.check(len(found) == 1, f"expected exactly one {what or kind}, found {len(found)}")
        return found[0] if found else None


def name_of(obj):
    return obj.get("metadata", {}).get("name", "?")


def is_hook(obj):
    return "helm.sh/hook" in (obj.get("metadata", {}).get("annotations") or {})


def selector_matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def effective_security(pod_spec, container):
    """Container settings win over pod settings, as in Kubernetes."""
    merged = dict(pod_spec.get("securityContext") or {})
    merged.update(container.get("securityContext") or {})
    return merged


def check_security(case, what, pod_spec, container):
    sec = effective_security(pod_spec, container)
    c_sec = container.get("securityContext") or {}
    case.check(sec.get("runAsNonRoot") is True, f"{what}: runAsNonRoot must be true")
    user = sec.get("runAsUser")
    case.check(isinstance(user, int) and user > 0, f"{what}: runAsUser must be a numeric non-root uid, got {user!r}")
    case.check(c_sec.get("readOnlyRootFilesystem") is True, f"{what}: readOnlyRootFilesystem must be true")
    case.check(c_sec.get("allowPrivilegeEscalation") is False, f"{what}: allowPrivilegeEscalation must be false")
    case.check(not c_sec.get("privileged"), f"{what}: must not be privileged")
    drop = ((c_sec.get("capabilities") or {}).get("drop")) or []
    case.check("ALL" in drop, f"{what}: capabilities must drop ALL, got {drop}")
    case.check(not ((c_sec.get("capabilities") or {}).get("add")), f"{what}: must add no capabilities")
    seccomp = (sec.get("seccompProfile") or {}).get("type")
    case.check(seccomp == "RuntimeDefault", f"{what}: seccompProfile must be RuntimeDefault, got {seccomp!r}")
    mounts = {m.get("mountPath"): m.get("name") for m in container.get("volumeMounts") or []}
    volumes = {v.get("name"): v for v in pod_spec.get("volumes") or []}
    tmp = volumes.get(mounts.get("/tmp"))
    case.check(tmp is not None and "emptyDir" in tmp, f"{what}: /tmp must be an emptyDir mount (read-only root)")


def secret_refs(container):
    """{env name: (secret name, key)} for env vars read from Secrets."""
    refs = {}
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            refs[env["name"]] = (ref.get("name"), ref.get("key"))
    return refs


def check_secret_env(case, what, container, expected_secret, env_names=SECRET_ENV):
    values = case.values["secrets"]
    refs = secret_refs(container)
    for env_name in env_names:
        plain = [e for e in container.get("env") or [] if e.get("name") == env_name and "value" in e]
        case.check(not plain, f"{what}: {env_name} must not be a plain env value")
        if not case.check(env_name in refs, f"{what}: {env_name} must come from a Secret via secretKeyRef"):
            continue
        secret_name, key = refs[env_name]
        case.check(secret_name == expected_secret,
                   f"{what}: {env_name} reads Secret {secret_name!r}, expected {expected_secret!r}")
        if values["existingSecret"]:
            want_key = values["existingSecretKeys"]["databaseUrl" if env_name == "DATABASE_URL" else "jwtSecret"]
            case.check(key == want_key, f"{what}: {env_name} reads key {key!r}, expected {want_key!r}")
        else:
            secret = next((s for s in case.of_kind("Secret") if name_of(s) == secret_name), None)
            if case.check(secret is not None, f"{what}: Secret {secret_name!r} is not rendered"):
                case.check(key in (secret.get("data") or {}), f"{what}: Secret {secret_name!r} has no key {key!r}")


def check_deployment(case):
    v = case.values
    dep = case.one("Deployment")
    if dep is None:
        return None
    spec = dep["spec"]
    pod = spec["template"]
    pod_spec = pod["spec"]
    pod_labels = pod["metadata"].get("labels") or {}
    selector = spec["selector"].get("matchLabels") or {}
    case.check(selector_matches(selector, pod_labels), "Deployment selector must match its pod labels")

    if v["autoscaling"]["enabled"]:
        case.check("replicas" not in spec, "Deployment must leave replicas to the HPA")
    else:
        case.check(spec.get("replicas") == v["replicaCount"],
                   f"Deployment replicas {spec.get('replicas')} != replicaCount {v['replicaCount']}")

    annotations = pod["metadata"].get("annotations") or {}
    case.check(re.fullmatch(r"[0-9a-f]{64}", str(annotations.get("checksum/config", ""))),
               "pod template needs a checksum/config annotation (sha256)")
    if not v["secrets"]["existingSecret"]:
        case.check(re.fullmatch(r"[0-9a-f]{64}", str(annotations.get("checksum/secret", ""))),
                   "pod template needs a checksum/secret annotation for the chart-managed Secret")
    case.check(pod_spec.get("automountServiceAccountToken") is False, "pods must not mount an API token")
    case.check(pod_spec.get("enableServiceLinks") is False, "enableServiceLinks must be false")

    containers = pod_spec.get("containers") or []
    server = next((c for c in containers if c.get("name") == "server"), None)
    if not case.check(server is not None, "Deployment needs a container named server"):
        return dep
    case.check("serve" in (server.get("args") or []) + (server.get("command") or []),
               "server container must run `messaging-server serve`")
    image = server.get("image", "")
    case.check(image and not image.endswith(":latest") and ("@" in image or ":" in image.rsplit("/", 1)[-1]),
               f"server image must be pinned to a tag or digest, got {image!r}")
    ports = {p.get("name"): p.get("containerPort") for p in server.get("ports") or []}
    grpc_port = v["config"]["grpcPort"]
    case.check(ports.get("grpc") == grpc_port, f"container port grpc must be {grpc_port}, got {ports.get('grpc')}")

    readiness = server.get("readinessProbe") or {}
    liveness = server.get("livenessProbe") or {}
    if v["tls"]["enabled"]:
        # The kubelet's gRPC probe cannot speak TLS: the chart falls back to TCP.
        for probe_name, probe in (("readiness", readiness), ("liveness", liveness)):
            case.check("tcpSocket" in probe, f"with TLS the {probe_name} probe must be a tcpSocket probe")
    else:
        for probe_name, probe in (("readiness", readiness), ("liveness", liveness)):
            grpc = probe.get("grpc")
            if case.check(isinstance(grpc, dict), f"{probe_name} probe must be a native grpc probe"):
                case.check(grpc.get("port") == grpc_port,
                           f"{probe_name} probe must check the gRPC port {grpc_port}, got {grpc.get('port')}")
    if readiness and liveness:
        tolerance = lambda p: p.get("periodSeconds", 10) * p.get("failureThreshold", 3)
        case.check(tolerance(liveness) > tolerance(readiness),
                   "liveness must tolerate failures longer than readiness (a database outage "
                   "should make pods unready, not restart them)")

    resources = server.get("resources") or {}
    requests = resources.get("requests") or {}
    case.check("cpu" in requests and "memory" in requests, "server container needs cpu and memory requests")
    check_security(case, "server container", pod_spec, server)
    check_secret_env(case, "server container", server, v["secrets"]["existingSecret"] or name_of(dep))

    # Configuration: envFrom the rendered ConfigMap, drain deadline < grace period.
    config_maps = {name_of(c): c for c in case.of_kind("ConfigMap")}
    env_from = [e["configMapRef"]["name"] for e in server.get("envFrom") or [] if "configMapRef" in e]
    case.check(env_from and all(n in config_maps for n in env_from), f"envFrom ConfigMap(s) {env_from} not rendered")
    config = {}
    for n in env_from:
        config.update((config_maps.get(n) or {}).get("data") or {})
    drain = int(config.get("MESSAGING_DRAIN_TIMEOUT_SECONDS", 20))
    delay = int(config.get("MESSAGING_SHUTDOWN_DELAY_SECONDS", 0))
    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    case.check(grace > drain + delay,
               f"terminationGracePeriodSeconds ({grace}) must exceed drain deadline ({drain}) + shutdown delay ({delay})")
    # The image is the binary and its libraries only: an exec hook (preStop
    # `sleep`, a shell probe) has nothing to run.
    for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        case.check("lifecycle" not in c, f"container {c.get('name')}: lifecycle hooks cannot run in the image (no shell)")
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            case.check("exec" not in (c.get(probe) or {}), f"container {c.get('name')}: {probe} exec cannot run in the image")
    case.check(config.get("MESSAGING_LISTEN") == f"0.0.0.0:{grpc_port}",
               f"MESSAGING_LISTEN must be 0.0.0.0:{grpc_port}, got {config.get('MESSAGING_LISTEN')!r}")
    case.check(config.get("MESSAGING_MAX_CONNECTION_AGE_SECONDS") == str(v["config"]["maxConnectionAgeSeconds"]),
               "MESSAGING_MAX_CONNECTION_AGE_SECONDS must follow config.maxConnectionAgeSeconds")

    for tsc in pod_spec.get("topologySpreadConstraints") or []:
        case.check(selector_matches((tsc.get("labelSelector") or {}).get("matchLabels"), pod_labels),
                   f"topologySpreadConstraint on {tsc.get('topologyKey')} must select the server pods")

    if v["metrics"]["enabled"]:
        case.check(ports.get("metrics") == v["metrics"]["port"], "metrics enabled: container port metrics missing")
        case.check(config.get("MESSAGING_METRICS_LISTEN") == f"0.0.0.0:{v['metrics']['port']}",
                   "metrics enabled: MESSAGING_METRICS_LISTEN must be set")
        if v["metrics"]["podAnnotations"]:
            case.check(annotations.get("prometheus.io/scrape") == "true"
                       and annotations.get("prometheus.io/port") == str(v["metrics"]["port"]),
                       "metrics enabled: prometheus.io scrape annotations missing")
    else:
        case.check("metrics" not in ports and "MESSAGING_METRICS_LISTEN" not in config,
                   "metrics disabled: no metrics port or listener expected")

    if v["tls"]["enabled"]:
        volumes = {vol["name"]: vol for vol in pod_spec.get("volumes") or []}
        tls = volumes.get("tls", {}).get("secret", {})
        case.check(tls.get("secretName") == v["tls"]["secretName"], "TLS enabled: tls Secret volume missing")
        case.check(config.get("MESSAGING_TLS_CERT") and config.get("MESSAGING_TLS_KEY"),
                   "TLS enabled: MESSAGING_TLS_CERT/KEY must be set")
    return dep


def check_no_secrets_in_config_maps(case):
    secret_values = [s for s in (case.values["secrets"]["databaseUrl"], case.values["secrets"]["jwtSecret"]) if s]
    for cm in case.of_kind("ConfigMap"):
        for key, value in (cm.get("data") or {}).items():
            value = str(value)
            case.check(key not in SECRET_ENV and not re.search(r"SECRET|PASSWORD|TOKEN", key),
                       f"ConfigMap {name_of(cm)} must not hold secret key {key}")
            case.check(not any(s in value for s in secret_values),
                       f"ConfigMap {name_of(cm)} key {key} contains a secret value")
            case.check(not URL_WITH_PASSWORD.search(value),
                       f"ConfigMap {name_of(cm)} key {key} contains a URL with a password")


def check_secrets(case, dep):
    v = case.values
    release_secrets = [s for s in case.of_kind("Secret") if not is_hook(s)]
    if v["secrets"]["existingSecret"]:
        case.check(not release_secrets,
                   f"existingSecret set: no release Secret may be rendered, found {[name_of(s) for s in release_secrets]}")
        if not v["secrets"]["migrateDatabaseUrl"]:
            case.check(not case.of_kind("Secret"),
                       f"existing Secrets only: no Secret may be rendered, found {[name_of(s) for s in case.of_kind('Secret')]}")
    else:
        case.check(len(release_secrets) == 1, f"expected one chart-managed Secret, found {len(release_secrets)}")
        for secret in release_secrets:
            case.check(set(SECRET_ENV) <= set((secret.get("data") or {}).keys()),
                       f"Secret {name_of(secret)} must hold {SECRET_ENV}")


def check_migration_url(case, job, dep, container):
    """The Job migrates as the schema owner when one is given, and the server
    never receives the owner's URL (it serves as a role that can only become
    messaging_app)."""
    sec = case.values["secrets"]
    refs = secret_refs(container)
    case.check("DATABASE_URL" not in refs, "migration Job: the URL comes as MESSAGING_MIGRATE_DATABASE_URL")
    if not case.check("MESSAGING_MIGRATE_DATABASE_URL" in refs,
                      "migration Job: MESSAGING_MIGRATE_DATABASE_URL must come from a Secret via secretKeyRef"):
        return
    secret_name, key = refs["MESSAGING_MIGRATE_DATABASE_URL"]
    hook_name = name_of(job)  # The hook's own Secret shares the Job's name ("<fullname>-migrate").
    if sec["existingMigrateSecret"]:
        want = (sec["existingMigrateSecret"], sec["existingSecretKeys"]["migrateDatabaseUrl"])
    elif sec["migrateDatabaseUrl"] or not sec["existingSecret"]:
        want = (hook_name, "MESSAGING_MIGRATE_DATABASE_URL")
    else:
        want = (sec["existingSecret"], sec["existingSecretKeys"]["databaseUrl"])
    case.check((secret_name, key) == want,
               f"migration Job reads {secret_name!r}/{key!r}, expected {want[0]!r}/{want[1]!r}")
    hook = next((s for s in case.of_kind("Secret") if name_of(s) == hook_name), None)
    if want[0] == hook_name and case.check(hook is not None, f"hook Secret {hook_name!r} is not rendered"):
        data = hook.get("data") or {}
        case.check(set(data) == {"MESSAGING_MIGRATE_DATABASE_URL"},
                   f"hook Secret {hook_name!r} must hold the migration URL only, holds {sorted(data)}")
        url = base64.b64decode(data.get("MESSAGING_MIGRATE_DATABASE_URL", "")).decode()
        case.check(url == (sec["migrateDatabaseUrl"] or sec["databaseUrl"]),
                   f"hook Secret {hook_name!r} holds the wrong URL")
    if not (sec["migrateDatabaseUrl"] or sec["existingMigrateSecret"]):
        return
    # A separate owner: nothing the server reads may carry it.
    if sec["migrateDatabaseUrl"]:
        for secret in case.of_kind("Secret"):
            if is_hook(secret):
                continue
            for key_name, value in (secret.get("data") or {}).items():
                case.check(base64.b64decode(value).decode() != sec["migrateDatabaseUrl"],
                           f"release Secret {name_of(secret)} key {key_name} holds the owner's URL")
    if dep is not None:
        for c in dep["spec"]["template"]["spec"]["containers"]:
            for env_name, (ref_name, _) in secret_refs(c).items():
                case.check(ref_name != secret_name or secret_name == sec["existingSecret"],
                           f"server container {c.get('name')}: {env_name} reads the migration Secret {ref_name!r}")
                case.check(env_name != "MESSAGING_MIGRATE_DATABASE_URL",
                           f"server container {c.get('name')} must not receive MESSAGING_MIGRATE_DATABASE_URL")


def check_migration_job(case, dep):
    v = case.values
    jobs = case.of_kind("Job")
    if not v["migrations"]["enabled"]:
        case.check(not jobs, "migrations disabled: no Job expected")
        return
    job = case.one("Job", what="migration Job")
    if job is None:
        return
    annotations = job["metadata"].get("annotations") or {}
    phases = set(str(annotations.get("helm.sh/hook", "")).split(","))
    case.check(phases == HOOK_PHASES, f"migration Job hook must be pre-install,pre-upgrade, got {phases}")
    weight = annotations.get("helm.sh/hook-weight")
    case.check(isinstance(weight, str) and re.fullmatch(r"-?\d+", weight),
               f"migration Job needs a helm.sh/hook-weight (quoted integer), got {weight!r}")
    policy = set(str(annotations.get("helm.sh/hook-delete-policy", "")).split(","))
    case.check({"before-hook-creation", "hook-succeeded"} <= policy,
               f"migration Job hook-delete-policy must include before-hook-creation,hook-succeeded, got {policy}")
    pod_spec = job["spec"]["template"]["spec"]
    case.check(pod_spec.get("restartPolicy") in ("Never", "OnFailure"), "migration Job restartPolicy must be Never/OnFailure")
    containers = pod_spec.get("containers") or []
    if not case.check(len(containers) == 1, "migration Job needs exactly one container"):
        return
    container = containers[0]
    argv = (container.get("command") or []) + (container.get("args") or [])
    case.check("migrate" in argv, f"migration Job must run `messaging-server migrate`, runs {argv}")
    check_security(case, "migration container", pod_spec, container)

    # Everything the hook reads must exist before the release's own objects do.
    refs = secret_refs(container)
    for secret_name, _ in set(refs.values()):
        if secret_name in (v["secrets"]["existingSecret"], v["secrets"]["existingMigrateSecret"]):
            continue
        hook_secret = next((s for s in case.of_kind("Secret") if name_of(s) == secret_name), None)
        if case.check(hook_secret is not None and is_hook(hook_secret),
                      f"migration Job reads Secret {secret_name!r}, which must be a hook of the same phases"):
            s_ann = hook_secret["metadata"]["annotations"]
            case.check(set(s_ann["helm.sh/hook"].split(",")) == HOOK_PHASES,
                       "migration hook Secret must be a pre-install,pre-upgrade hook")
            case.check(int(s_ann.get("helm.sh/hook-weight", "0")) < int(weight or 0),
                       "migration hook Secret must be created before the Job (lower hook-weight)")
    check_migration_url(case, job, dep, container)
    case.check("MESSAGING_JWT_SECRET" not in refs, "migration Job must not receive the JWT secret (least privilege)")
    case.check(not container.get("envFrom"), "migration Job must not read the release ConfigMap (not created yet at pre-install)")
    created_sas = {name_of(sa) for sa in case.of_kind("ServiceAccount")}
    case.check(pod_spec.get("serviceAccountName") not in created_sas,
               "migration Job must not use the chart-created ServiceAccount (absent at pre-install)")
    if dep is not None:
        job_labels = job["spec"]["template"]["metadata"].get("labels") or {}
        case.check(not selector_matches(dep["spec"]["selector"]["matchLabels"], job_labels),
                   "migration pods must not match the server selector (Services, PDB)")


def check_services(case, dep):
    v = case.values
    services = case.of_kind("Service")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"] if dep else {}
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    balanced = [s for s in services if s["spec"].get("clusterIP") != "None"]
    case.check(len(balanced) == 1, f"expected one load-balanced Service, found {len(balanced)}")
    for svc in services:
        case.check(selector_matches(svc["spec"].get("selector"), pod_labels),
                   f"Service {name_of(svc)} must select the server pods")
        grpc = [p for p in svc["spec"].get("ports") or [] if p.get("name") == "grpc"]
        case.check(grpc and grpc[0].get("targetPort") in ("grpc", v["config"]["grpcPort"]),
                   f"Service {name_of(svc)} needs a grpc port targeting the container's gRPC port")
    for svc in balanced:
        case.check(svc["spec"].get("type") == v["service"]["type"], "main Service type must follow service.type")
    if v["service"]["headless"]:
        if case.check(len(headless) == 1, "service.headless: expected a Service with clusterIP: None"):
            case.check(headless[0]["spec"].get("publishNotReadyAddresses") is not True,
                       "headless Service must publish only ready pods")
    else:
        case.check(not headless, "service.headless false: no headless Service expected")


def check_scaling(case, dep):
    v = case.values
    hpas = case.of_kind("HorizontalPodAutoscaler")
    if v["autoscaling"]["enabled"]:
        hpa = case.one("HorizontalPodAutoscaler")
        if hpa:
            case.check(hpa["apiVersion"] == "autoscaling/v2", "HPA must use autoscaling/v2")
            target = hpa["spec"]["scaleTargetRef"]
            case.check(target.get("kind") == "Deployment" and dep and target.get("name") == name_of(dep),
                       "HPA must scale the Deployment")
            case.check(hpa["spec"].get("minReplicas") == v["autoscaling"]["minReplicas"]
                       and hpa["spec"].get("maxReplicas") == v["autoscaling"]["maxReplicas"],
                       "HPA min/max must follow autoscaling values")
            case.check(hpa["spec"].get("metrics"), "HPA needs at least one metric")
    else:
        case.check(not hpas, "autoscaling disabled: no HPA expected")

    replicas = v["autoscaling"]["minReplicas"] if v["autoscaling"]["enabled"] else v["replicaCount"]
    pdbs = case.of_kind("PodDisruptionBudget")
    if v["podDisruptionBudget"]["enabled"] and replicas > 1:
        pdb = case.one("PodDisruptionBudget", what=f"PodDisruptionBudget (replicas={replicas})")
        if pdb and dep:
            case.check(pdb["spec"]["selector"].get("matchLabels") == dep["spec"]["selector"]["matchLabels"],
                       "PDB must select the server pods")
            case.check(("minAvailable" in pdb["spec"]) != ("maxUnavailable" in pdb["spec"]),
                       "PDB needs exactly one of minAvailable/maxUnavailable")
    else:
        case.check(not pdbs, f"no PDB expected for {replicas} replica(s)")


def check_optional_objects(case, dep):
    v = case.values
    sas = case.of_kind("ServiceAccount")
    if v["serviceAccount"]["create"]:
        sa = case.one("ServiceAccount")
        if sa and dep:
            case.check(dep["spec"]["template"]["spec"].get("serviceAccountName") == name_of(sa),
                       "Deployment must use the chart's ServiceAccount")
            case.check(sa.get("automountServiceAccountToken") is False, "ServiceAccount must not automount tokens")
    else:
        case.check(not sas, "serviceAccount.create false: no ServiceAccount expected")

    policies = case.of_kind("NetworkPolicy")
    if v["networkPolicy"]["enabled"]:
        policy = case.one("NetworkPolicy")
        if policy and dep:
            case.check(policy["spec"]["podSelector"].get("matchLabels") == dep["spec"]["selector"]["matchLabels"],
                       "NetworkPolicy must select the server pods")
            ports = [p.get("port") for rule in policy["spec"].get("ingress") or [] for p in rule.get("ports") or []]
            case.check("grpc" in ports, "NetworkPolicy must admit the gRPC port")
            if v["networkPolicy"]["egress"]["enabled"]:
                case.check("Egress" in policy["spec"].get("policyTypes", []), "egress restriction needs policyType Egress")
    else:
        case.check(not policies, "networkPolicy disabled: no NetworkPolicy expected")

    monitors = case.of_kind("ServiceMonitor")
    if v["metrics"]["serviceMonitor"]["enabled"]:
        monitor = case.one("ServiceMonitor")
        if monitor:
            case.check(monitor["spec"]["endpoints"][0].get("port") == "metrics", "ServiceMonitor must scrape port metrics")
    else:
        case.check(not monitors, "serviceMonitor disabled: no ServiceMonitor expected")


def check_general(case):
    duplicates = {s for s in case.sources if case.sources.count(s) > 1}
    case.check(not duplicates, f"one object per template file, but these render several: {sorted(duplicates)}")
    seen = set()
    for obj in case.objects:
        meta = obj.get("metadata") or {}
        key = (obj.get("kind"), meta.get("name"))
        case.check(key not in seen, f"duplicate object {key}")
        seen.add(key)
        case.check(len(meta.get("name", "")) <= 63, f"{key}: name longer than 63 characters")
        labels = meta.get("labels") or {}
        for label in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"):
            case.check(label in labels, f"{key}: missing label {label}")
        case.check(meta.get("namespace"), f"{key}: metadata.namespace must be set")


def check_values_documented(chart):
    """Every chart-defined key in values.yaml has a comment above it and a
    node in values.schema.json (descending wherever the schema is closed with
    additionalProperties: false; Kubernetes pass-through objects are not)."""
    with open(f"{chart}/values.yaml", encoding="utf-8") as f:
        text = f.read()
    lines = text.splitlines()
    with open(f"{chart}/values.schema.json", encoding="utf-8") as f:
        schema = json.load(f)
    problems = []

    def walk(node, schema_node, path):
        props = schema_node.get("properties", {})
        for key_node, value_node in node.value:
            key = key_node.value
            where = f"values.yaml:{key_node.start_mark.line + 1} {path}{key}"
            previous = lines[key_node.start_mark.line - 1].strip() if key_node.start_mark.line else ""
            if not previous.startswith("#"):
                problems.append(f"{where}: no comment above the key")
            if key not in props:
                problems.append(f"{where}: not described in values.schema.json")
                continue
            child = props[key]
            if isinstance(value_node, yaml.MappingNode) and child.get("additionalProperties") is False:
                walk(value_node, child, f"{path}{key}.")

    root = yaml.compose(text)
    if schema.get("additionalProperties") is not False:
        problems.append("values.schema.json: the root must set additionalProperties: false")
    walk(root, schema, "")
    return problems


# --- Grafana dashboards -----------------------------------------------------

DASHBOARD_KEY = "messaging.json"
# Labels Prometheus adds to every scraped series (ServiceMonitor or pod
# annotations); the server's own labels come from its sources.
TARGET_LABELS = {"namespace", "pod", "job", "instance", "container", "service", "endpoint"}
# The variables every panel query filters on, so the dashboard's pickers apply.
PANEL_FILTERS = ("$namespace", "$job", "$pod")
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                   "bool", "offset", "inf", "nan"}
PROMQL_FUNCTIONS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "group", "rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets", "histogram_quantile",
    "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "vector", "scalar", "time", "timestamp",
    "absent", "absent_over_time", "label_replace", "label_join", "sort", "sort_desc", "sqrt", "exp", "ln",
    "log2", "log10", "predict_linear", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "last_over_time", "quantile_over_time",
}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__range_s", "__interval_ms"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
C_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def exported_metrics(server_dir):
    """({metric name}, {label name}) the server writes on /metrics, read from
    its sources: the names and labels in the string literals of
    observability/ (histograms with their _bucket/_sum/_count series) and the
    gauges registered with AddGauge("name", ...) anywhere."""
    names, labels, histograms = set(), set(), set()
    for path in sorted(glob.glob(f"{server_dir}/**/*.cpp", recursive=True)
                       + glob.glob(f"{server_dir}/**/*.h", recursive=True)):
        with open(path, encoding="utf-8") as f:
            source = f.read()
        names.update(re.findall(r'AddGauge\(\s*"(\w+)"', source))
        if os.path.basename(os.path.dirname(path)) != "observability":
            continue
        for literal in C_STRING.findall(source):
            names.update(re.findall(r"\bmessaging_\w+", literal))
            labels.update(re.findall(r'(\w+)=\\"', literal))
            histograms.update(re.findall(r"# TYPE (\w+) histogram", literal))
    # A histogram exists only as its three series; its bare name selects nothing.
    for histogram in histograms:
        names.discard(histogram)
        names.update(histogram + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names, labels


def promql_references(expr):
    """(metric names, label names, function names) an expression uses."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    labels = set()
    for selector in re.findall(r"\{([^}]*)\}", text):
        labels.update(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", selector))
    text = re.sub(r"\{[^}]*\}", " ", text)
    for _, grouping in GROUPING.findall(text):
        labels.update(re.findall(r"[A-Za-z_]\w*", grouping))
    text = GROUPING.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)        # range durations
    text = re.sub(r"\$\{?\w+\}?", " ", text)        # Grafana variables
    metrics, functions = set(), set()
    for ident, call in re.findall(r"(?<![\w.])([A-Za-z_:][\w:]*)\s*(\()?", text):
        if call:
            functions.add(ident)
        elif ident.lower() not in PROMQL_KEYWORDS:
            metrics.add(ident)
    return metrics, labels, functions


def dashboard_queries(dashboard):
    """[(where, expr, is panel query)] of every panel target and query variable."""
    queries = []

    def panels(items):
        for panel in items or []:
            yield panel
            yield from panels(panel.get("panels"))

    for panel in panels(dashboard.get("panels")):
        for target in panel.get("targets") or []:
            if "expr" in target:
                queries.append((f"panel {panel.get('title')!r} {target.get('refId')}", target["expr"], True))
    for var in (dashboard.get("templating") or {}).get("list") or []:
        if var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
        if match:  # label_values(<selector>, <label>): the label is one the selector's series carry
            query = f"count by ({match.group(2)}) ({match.group(1)})"
        queries.append((f"variable ${var.get('name')}", query, False))
    return queries


def check_dashboard(path, server_dir):
    """Problems with one dashboard file (empty when it is fine)."""
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{path}: not valid JSON: {e}"]
    name = os.path.basename(path)
    problems = []
    metrics, server_labels = exported_metrics(server_dir)
    if not metrics:
        return [f"{name}: found no exported metric names under {server_dir}"]
    allowed_labels = server_labels | TARGET_LABELS
    variables = {v.get("name"): v for v in (dashboard.get("templating") or {}).get("list") or []}
    datasource = variables.get("datasource") or {}
    if datasource.get("type") != "datasource" or datasource.get("query") != "prometheus":
        problems.append(f"{name}: needs a `datasource` variable of type datasource, query prometheus")
    for key in ("uid", "title", "schemaVersion"):
        if not dashboard.get(key):
            problems.append(f"{name}: `{key}` is missing")

    queries = dashboard_queries(dashboard)
    if not any(is_panel for _, _, is_panel in queries):
        problems.append(f"{name}: no panel queries")
    for where, expr, is_panel in queries:
        used, labels, functions = promql_references(expr)
        for metric in sorted(used - metrics):
            problems.append(f"{name}: {where}: metric {metric} is not exported by the server")
        for label in sorted(labels - allowed_labels):
            problems.append(f"{name}: {where}: label {label} is on no exported series")
        for function in sorted(functions - PROMQL_FUNCTIONS):
            problems.append(f"{name}: {where}: unknown PromQL function {function}")
        for var in sorted(set(re.findall(r"\$\{?(\w+)", expr)) - set(variables) - GRAFANA_BUILTINS):
            problems.append(f"{name}: {where}: variable ${var} is not defined")
        if is_panel:
            if not used:
                problems.append(f"{name}: {where}: queries no metric")
            for selector in re.findall(r"messaging_\w+\s*(\{[^}]*\})?", expr):
                missing = [f for f in PANEL_FILTERS if f not in selector]
                if missing:
                    problems.append(f"{name}: {where}: a selector does not filter on {', '.join(missing)}")
    for panel in dashboard.get("panels") or []:
        for target in panel.get("targets") or []:
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            if uid not in ("${datasource}", "$datasource"):
                problems.append(f"{name}: panel {panel.get('title')!r} must use the $datasource variable, uses {uid!r}")
    return problems


def check_dashboard_config_map(case, chart):
    """The ConfigMap the Grafana sidecar imports: there exactly when enabled,
    with the sidecar labels, the annotations and the chart's dashboard."""
    v = case.values["grafanaDashboard"]
    maps = [cm for cm in case.of_kind("ConfigMap") if DASHBOARD_KEY in (cm.get("data") or {})]
    if not v["enabled"]:
        case.check(not maps, "grafanaDashboard disabled: no dashboard ConfigMap expected")
        return
    cm = case.one("ConfigMap", lambda o: DASHBOARD_KEY in (o.get("data") or {}), what="dashboard ConfigMap")
    if cm is None:
        return
    meta = cm["metadata"]
    wanted = {k: str(val) for k, val in (v["labels"] or {}).items() if val is not None}
    case.check(wanted, "grafanaDashboard: at least one sidecar label is needed")
    for key, value in wanted.items():
        case.check((meta.get("labels") or {}).get(key) == value,
                   f"dashboard ConfigMap needs the sidecar label {key}={value!r}, has {meta.get('labels')}")
    for key, value in (v["annotations"] or {}).items():
        case.check((meta.get("annotations") or {}).get(key) == value,
                   f"dashboard ConfigMap needs the annotation {key}={value!r}")
    deployments = case.of_kind("Deployment")
    release_ns = deployments[0]["metadata"].get("namespace") if deployments else None
    want_ns = v["namespace"] or release_ns
    case.check(meta.get("namespace") == want_ns,
               f"dashboard ConfigMap must be in namespace {want_ns!r}, is in {meta.get('namespace')!r}")
    try:
        shipped = json.loads(cm["data"][DASHBOARD_KEY])
    except ValueError as e:
        case.check(False, f"dashboard ConfigMap: {DASHBOARD_KEY} is not valid JSON: {e}")
        return
    with open(f"{chart}/dashboards/{DASHBOARD_KEY}", encoding="utf-8") as f:
        case.check(shipped == json.load(f), f"dashboard ConfigMap must hold dashboards/{DASHBOARD_KEY} unchanged")


def check_test_pod(case, dep):
    """`helm test`: the image's messaging-probe against the Service, with the
    server's JWT secret and settings, hardened like the server, and admitted by
    the NetworkPolicy."""
    v = case.values
    pods = [p for p in case.of_kind("Pod") if is_hook(p)]
    if not v["tests"]["enabled"]:
        case.check(not pods, "tests disabled: no test pod expected")
        return
    if not case.check(len(pods) == 1, f"expected one helm test pod, got {len(pods)}"):
        return
    pod = pods[0]
    annotations = pod["metadata"]["annotations"]
    case.check(annotations.get("helm.sh/hook") == "test", "test pod must be a helm.sh/hook: test")
    spec = pod["spec"]
    case.check(spec.get("restartPolicy") == "Never", "test pod must not restart")
    (probe,) = spec["containers"]
    case.check(probe.get("command") == ["messaging-probe"], f"test pod must run messaging-probe, runs {probe.get('command')}")
    if dep:
        server = dep["spec"]["template"]["spec"]["containers"][0]
        case.check(probe.get("image") == server.get("image"), "test pod must run the server's image")
    args = probe.get("args") or []
    service = next((s for s in case.of_kind("Service") if not name_of(s).endswith("-headless")), None)
    if case.check(service is not None and "--target" in args, "test pod needs --target and the main Service"):
        target = args[args.index("--target") + 1]
        port = service["spec"]["ports"][0]["port"]
        want = f"{name_of(service)}.{service['metadata'].get('namespace')}.svc:{port}"
        case.check(target == want, f"test pod targets {target!r}, expected the Service {want!r}")
    case.check(("--tls" in args) == bool(v["tls"]["enabled"]), "test pod must use TLS exactly when the server does")
    if dep:
        server_secret = secret_refs(dep["spec"]["template"]["spec"]["containers"][0])["MESSAGING_JWT_SECRET"][0]
        check_secret_env(case, "test pod", probe, server_secret, env_names=("MESSAGING_JWT_SECRET",))
    case.check("DATABASE_URL" not in secret_refs(probe), "test pod must not see the database URL")
    check_security(case, "test pod", spec, probe)
    policy = next(iter(case.of_kind("NetworkPolicy")), None)
    if policy and v["networkPolicy"]["grpcFrom"]:
        labels = pod["metadata"].get("labels") or {}
        peers = [peer for rule in policy["spec"].get("ingress") or [] for peer in rule.get("from") or []]
        case.check(any(selector_matches((peer.get("podSelector") or {}).get("matchLabels") or {}, labels)
                       for peer in peers
                       if "podSelector" in peer and "namespaceSelector" not in peer),
                   "NetworkPolicy with grpcFrom must still admit the helm test pod")


def run_case(chart, name, values, objects):
    case = Case(name, values, objects)
    check_general(case)
    dep = check_deployment(case)
    check_no_secrets_in_config_maps(case)
    check_secrets(case, dep)
    check_migration_job(case, dep)
    check_services(case, dep)
    check_scaling(case, dep)
    check_optional_objects(case, dep)
    check_dashboard_config_map(case, chart)
    check_test_pod(case, dep)
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chart", required=True, help="chart directory (for its values.yaml)")
    parser.add_argument("--case", nargs=3, action="append", default=[],
                        metavar=("NAME", "VALUES", "RENDERED"), help="a values file and its rendered output")
    parser.add_argument("--json-out", help="write every rendered object as JSON (for schema validation)")
    parser.add_argument("--dashboard", action="append", default=[],
                        help="check only this dashboard file (no cases, no values)")
    parser.add_argument("--server", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"),
                        help="server source directory, where the exported metric names are read")
    args = parser.parse_args()
    if not args.case and not args.dashboard:
        parser.error("give --case or --dashboard")

    failures, dumped = [], []
    for path in args.dashboard or sorted(glob.glob(f"{args.chart}/dashboards/*.json")):
        problems = check_dashboard(path, args.server)
        print(f"  {'ok  ' if not problems else 'FAIL'} dashboard {os.path.basename(path)}: "
              "valid, queries only metrics and labels the server exports")
        failures += problems
    if args.dashboard:
        for failure in failures:
            print(f"    - {failure}", file=sys.stderr)
        return 1 if failures else 0

    with open(f"{args.chart}/values.yaml", encoding="utf-8") as f:
        defaults = yaml.safe_load(f)
    documented = check_values_documented(args.chart)
    print(f"  {'ok  ' if not documented else 'FAIL'} values.yaml keys commented and covered by values.schema.json")
    failures += documented
    for name, values_file, rendered in args.case:
        with open(values_file, encoding="utf-8") as f:
            values = deep_merge(defaults, yaml.safe_load(f) or {})
        objects = load_rendered(rendered)
        case = run_case(args.chart, name, values, objects)
        kinds = ", ".join(sorted(f"{o['kind']}" for o in case.objects))
        status = "ok  " if not case.failures else "FAIL"
        print(f"  {status} assertions ({name}): {len(case.objects)} objects [{kinds}]")
        failures += case.failures
        dumped += [{"source": name, "object": obj} for obj in case.objects]

    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(dumped, f)
    for failure in failures:
        print(f"    - {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
