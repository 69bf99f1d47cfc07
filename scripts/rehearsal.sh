#!/usr/bin/env bash
# The release, rehearsed on one real kubelet node: run it and watch (tests/rehearsal/README.md).
#
#   bash scripts/rehearsal.sh [--keep] [--envs "staging prod"]
#
# 1. a real node with the Argo Rollouts controller (scripts/k8s-cluster.sh start --real
#    --with-rollouts), the CRDs of ../shared/crds, k8s/platform/namespaces.yaml, the app Secret;
# 2. two releases r1, r2 of both images built from dockerfiles/ (they differ in their VERSION
#    label, so in digest), pushed to the node's registry (htpasswd), signed with a cosign key
#    pair made for this run; r3 pushed but NOT signed (drill c);
# 3. Prometheus on 127.0.0.1:19090 scraping what the chart's ServiceMonitors select (targets
#    synced from the cluster, tests/rehearsal/prometheus_config.py), the PrometheusRule loaded;
# 4. loopback front doors to the frontend/backend Services (tests/rehearsal/service_proxy.py, the
#    "ingress" and the smoke URL) and a prober on them every 100 ms for the whole run;
# 5. per environment: deploy r1 (first install: Rollouts skips steps and analysis), deploy r2
#    (the upgrade: blue-green pre-promotion analysis / canary steps + analysis), with the deploy
#    runtime that `dagger call deploy` runs, the real gates (cosign), the real values files plus
#    tests/rehearsal/overlays/<env>.yaml;
# 6. drill c: deploy r3 (unsigned) -> refused at the gates, exit 2, helm history unchanged.
# Every deploy report, the prober's CSV and summary.md land in reports/rehearsal/.
# Traffic goes only to loopback and to this cluster's own Service addresses.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
keep=false envs="staging prod"
proxy_pids=()
while (($#)); do
  case "$1" in
    --keep) keep=true; shift ;;
    --envs) envs="$2"; shift 2 ;;
    *) echo "rehearsal: unknown argument '$1' (allowed: --keep, --envs \"staging prod\")" >&2; exit 2 ;;
  esac
done

py="$here/.venv/bin/python"
tools="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}/bin"
cluster_bin="$(scripts/k8s-cluster.sh bin-dir)"
export PATH="$tools:$cluster_bin:$PATH"  # helm, kubectl, cosign; the Rollouts plugin
reports="$here/reports/rehearsal"
name="rehearsal-$$"
work="$(mktemp -d /tmp/rehearsal.XXXXXX)"
chmod 700 "$work"
mkdir -p "$reports"
log() { printf '%s rehearsal: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# Debian's docker.io CLI builds with BuildKit without buildx (tests/images does the same).
docker_cli="${DOCKER:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )}"
docker() { "$docker_cli" "$@"; }
for tool in helm kubectl cosign promtool prometheus; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-k8s-tools.sh, apt-get install -y prometheus docker.io)"
done
[ -x "$py" ] || die "$py missing (the root test environment)"

cleanup() {
  touch "$work/probe.csv.stop" "$work/prometheus/sync.stop" 2>/dev/null || :
  [ -n "${sync_pid:-}" ] && wait "$sync_pid" 2>/dev/null || :
  [ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null || :
  for pid in "${proxy_pids[@]}"; do kill "$pid" 2>/dev/null || :; done
  [ -n "${probe_pid:-}" ] && wait "$probe_pid" 2>/dev/null || :
  [ -f "$work/probe.csv" ] && cp "$work/probe.csv" "$reports/probe.csv"
  if [ "$keep" = false ]; then
    scripts/k8s-cluster.sh stop --name "$name" >/dev/null 2>&1 || :
    rm -rf "$work"
  else
    log "kept: cluster $name (scripts/k8s-cluster.sh stop --name $name), work dir $work"
  fi
}
trap cleanup EXIT
trap 'log "FAILED at line $LINENO: $BASH_COMMAND (exit $?)"' ERR

# -- 1. the cluster ------------------------------------------------------------------------
t0=$SECONDS
log "starting a real node with Argo Rollouts"
scripts/k8s-cluster.sh start --real --with-rollouts --name "$name" >"$work/cluster.env"
KUBECONFIG="$(sed -n 's/^KUBECONFIG=//p' "$work/cluster.env")"
REGISTRY="$(sed -n 's/^REGISTRY=//p' "$work/cluster.env")"
DOCKER_CONFIG_DIR="$(sed -n 's/^REGISTRY_DOCKER_CONFIG=//p' "$work/cluster.env")"
export KUBECONFIG
kc() { kubectl --kubeconfig "$KUBECONFIG" "$@"; }
kc apply --server-side -f "$here/../shared/crds" >/dev/null
kc wait --for condition=established crd --all --timeout=120s >/dev/null
kc apply -f k8s/platform/namespaces.yaml >/dev/null
for env in $envs; do
  ns="$(PYTHONPATH=src "$py" -c "import yaml,sys; print(yaml.safe_load(open('pipeline.yaml'))['environments'][sys.argv[1]]['namespace'])" "$env")"
  secret_dir="$work/secret-$env"
  mkdir -m 700 "$secret_dir"
  "$py" -c 'import secrets; print(secrets.token_hex(32), end="")' >"$secret_dir/jwt-secret"
  : >"$secret_dir/redis-url"
  : >"$secret_dir/elasticsearch-api-key"
  kc -n "$ns" create secret generic blog-creator-secrets --from-file="$secret_dir" >/dev/null
done
log "cluster ready in $((SECONDS - t0)) s (registry $REGISTRY)"

# -- 2. images, signatures, release reports ------------------------------------------------
t0=$SECONDS
base_args=()
docker image inspect local/python:3.13-slim >/dev/null 2>&1 && base_args+=(--build-arg PYTHON_IMAGE=local/python:3.13-slim)
docker image inspect local/node:22-slim >/dev/null 2>&1 && base_args+=(--build-arg NODE_IMAGE=local/node:22-slim)
export COSIGN_PASSWORD
COSIGN_PASSWORD="$("$py" -c 'import secrets; print(secrets.token_hex(16))')"
(cd "$work" && cosign generate-key-pair >/dev/null 2>&1)
declare -A image
for release in r1 r2 r3; do
  for app in backend frontend; do
    ref="$REGISTRY/blog-creator/$app:$release"
    DOCKER_BUILDKIT=1 docker build -q -f "dockerfiles/$app.Dockerfile" --target runtime "${base_args[@]}" \
      --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt \
      --build-arg "VERSION=0.0.0-rehearsal-$release" -t "$ref" . >>"$reports/build.log" 2>&1
    docker --config "$DOCKER_CONFIG_DIR" push "$ref" >>"$reports/build.log" 2>&1
    # the digest in THIS registry (an image ID pushed by earlier runs has other RepoDigests)
    image[$app-$release]="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" | grep -m1 "^$REGISTRY/blog-creator/$app@")"
    if [ "$release" != r3 ]; then
      DOCKER_CONFIG="$DOCKER_CONFIG_DIR" cosign sign --key "$work/cosign.key" --tlog-upload=false \
        --allow-http-registry --allow-insecure-registry -y "${image[$app-$release]}" >>"$reports/build.log" 2>&1
    fi
  done
  # No vulnerability DB is reachable offline: the scan gate is exercised with a verdict that
  # says where it came from (tests/rehearsal/README.md), the scanner itself is not.
  "$py" - "$work/release-$release.json" "${image[backend-$release]}" "${image[frontend-$release]}" <<'EOF'
import json, sys
out, backend, frontend = sys.argv[1:]
json.dump({"images": {"backend": {"ref": backend}, "frontend": {"ref": frontend}},
           "scan": {"passed": True, "source": "rehearsal: no vulnerability DB offline", "allowlisted": []}},
          open(out, "w"))
EOF
done
log "3 releases built, pushed, r1/r2 signed in $((SECONDS - t0)) s"

# -- 3. Prometheus scraping like the chart's ServiceMonitors --------------------------------
for env in $envs; do
  target="$work/target-$env.json"
  "$py" tests/rehearsal/rehearsal_target.py "$env" "http://127.0.0.1:9" >"$target"
  ns="$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['namespace'])" "$target")"
  args=(template blog-creator k8s/chart -n "$ns" -f "k8s/environments/$env.yaml" --set-string "image.backend.digest=${image[backend-r1]#*@}" --set-string "image.frontend.digest=${image[frontend-r1]#*@}")
  while read -r kv; do args+=(--set "$kv"); done < <("$py" -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['extra_values']))" "$target")
  helm "${args[@]}" >"$work/render-$env.yaml"
done
"$py" tests/rehearsal/prometheus_config.py config "$work/prometheus" "$work"/render-*.yaml
promtool check config "$work/prometheus/prometheus.yml" >/dev/null
"$py" tests/rehearsal/prometheus_config.py sync "$KUBECONFIG" "$work/prometheus" 3600 "$work"/render-*.yaml &
sync_pid=$!
prometheus --config.file "$work/prometheus/prometheus.yml" --web.listen-address 127.0.0.1:19090 \
  --storage.tsdb.path "$work/prometheus/data" >"$reports/prometheus.log" 2>&1 &
prom_pid=$!

# -- 4. loopback front doors (the "ingress") and the prober on them ---------------------------
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
declare -A front_port
probe_urls=()

for env in $envs; do
  ns="$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['namespace'])" "$work/target-$env.json")"
  front_port[$env]="$(free_port)"
  back_port="$(free_port)"
  "$py" tests/rehearsal/service_proxy.py "$KUBECONFIG" "$ns" blog-creator-frontend 3000 "${front_port[$env]}" 7200 &
  proxy_pids+=($!)
  "$py" tests/rehearsal/service_proxy.py "$KUBECONFIG" "$ns" blog-creator-backend 8000 "$back_port" 7200 &
  proxy_pids+=($!)
  probe_urls+=("http://127.0.0.1:${front_port[$env]}/api/health" "http://127.0.0.1:$back_port/api/v1/auth/me")
done

gh_env() {  # the GitHub environment that approves ENV (pipeline.yaml github_environment, else ENV)
  "$py" -c "import yaml,sys; e=yaml.safe_load(open('pipeline.yaml'))['environments'][sys.argv[1]]; print(e.get('github_environment') or sys.argv[1])" "$1"
}
jq_ns() { "$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['namespace'])" "$work/target-$1.json"; }
deploy_report() { "$py" -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['outcome'], r['exit_code'], r.get('total_seconds'), '-', r['message'][:300])" "$1"; }

# deploy_env ENV RELEASE [EXPECTED_EXIT]: the deploy runtime's CLI, as the tools container runs it.
deploy_env() {
  local env="$1" release="$2" expect="${3:-0}" url out code start
  url="http://127.0.0.1:${front_port[$env]}"
  "$py" - "$work/target-$env.json" "$url" <<'EOF'
import json, sys
path, url = sys.argv[1:]
t = json.load(open(path))
t.update(url=url, signature_tlog=False, registry_http=True)  # offline: README "Other inputs"
json.dump(t, open(path, "w"))
EOF
  out="$reports/$env-$release"
  mkdir -p "$out"
  start=$SECONDS
  log "deploy $env $release (expect exit $expect)"
  set +e
  DOCKER_CONFIG="$DOCKER_CONFIG_DIR" PYTHONPATH=src "$py" -m pipeline.deploy deploy \
    --target "$work/target-$env.json" --chart k8s/chart --kubeconfig "$KUBECONFIG" \
    --backend-image "${image[backend-$release]}" --frontend-image "${image[frontend-$release]}" \
    --release-report "$work/release-$release.json" --cosign-key "$work/cosign.pub" \
    --approved-by "rehearsal-operator" --approval-actor "rehearsal-operator" \
    --approval-environment "$(gh_env "$env")" \
    --approval-run-url "https://github.com/local/rehearsal/actions/runs/$$" \
    --version "rehearsal-$release" --report-dir "$out" >"$out/report.md" 2>"$out/stderr.log"
  code=$?
  # What the controller decided, from outside: the analysis runs (measurements) and Rollouts.
  kc -n "$(jq_ns "$env")" get analysisruns.argoproj.io,rollouts.argoproj.io -o yaml >"$out/rollouts-and-analysisruns.yaml" 2>&1
  helm --kubeconfig "$KUBECONFIG" history blog-creator -n "$(jq_ns "$env")" >"$out/helm-history.txt" 2>&1
  set -e
  echo "| $env | $release | $code (expected $expect) | $((SECONDS - start)) s | $(deploy_report "$out/deploy-$env.json" 2>/dev/null || echo 'no report') |" >>"$reports/summary.md"
  [ "$code" = "$expect" ] || { log "$env $release exited $code, expected $expect: $out/report.md"; return 1; }
  if [ -z "${probe_pid:-}" ] && [ "$code" = 0 ]; then  # from the first release that serves on
    "$py" tests/rehearsal/prober.py "$work/probe.csv" 3600 "${probe_urls[@]}" &
    probe_pid=$!
  fi
}

{
  echo "# Rehearsal $(date -u +%Y-%m-%dT%H:%M:%SZ) on a real node"
  echo
  echo "| env | release | exit | wall time | outcome exit seconds - message |"
  echo "|---|---|---|---|---|"
} >"$reports/summary.md"

# -- 5. install, then upgrade (D6: a first install runs no canary step and no analysis) ------
failed=0
for env in $envs; do
  case "$env" in
    staging)
      deploy_env staging r1 || failed=1
      deploy_env staging r2 || failed=1
      ;;
    prod)
      deploy_env prod r1 || failed=1
      deploy_env prod r2 || failed=1
      # -- 6. drill c: an unsigned digest is refused at the gates; helm history unchanged
      before="$(helm --kubeconfig "$KUBECONFIG" history blog-creator -n blog-prod -o json 2>&1 | md5sum)"
      deploy_env prod r3 2 || failed=1
      after="$(helm --kubeconfig "$KUBECONFIG" history blog-creator -n blog-prod -o json 2>&1 | md5sum)"
      [ "$before" = "$after" ] || { log "drill c: helm history changed"; failed=1; }
      ;;
  esac
done

touch "$work/probe.csv.stop"
[ -n "${probe_pid:-}" ] && wait "$probe_pid" || :
if [ -f "$work/probe.csv" ]; then
  { echo; echo '## Prober (every 100 ms, whole rehearsal)'; echo '```'; "$py" tests/rehearsal/prober.py summary "$work/probe.csv"; echo '```'; } >>"$reports/summary.md"
fi
cat "$reports/summary.md"
exit "$failed"
