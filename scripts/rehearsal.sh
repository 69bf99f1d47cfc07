#!/usr/bin/env bash
# The release, rehearsed on one real kubelet node: run it and watch (tests/rehearsal/README.md).
#
#   bash scripts/rehearsal.sh [--keep] [--envs "staging prod"]
#
# 1. a real node with the Argo Rollouts controller (scripts/k8s-cluster.sh start --real
#    --with-rollouts), the CRDs of ../shared/crds, k8s/platform/namespaces.yaml, the app Secret;
# 2. two releases r1, r2 of both images built from dockerfiles/ (they differ in their VERSION
#    label, so in digest), pushed to the node's registry (htpasswd), signed with a cosign key
#    pair made for this run; r3 pushed but NOT signed (drill c); r4 for the manual path; the
#    drills' faulty backends;
# 3. Prometheus on 127.0.0.1:19090 scraping what the chart's ServiceMonitors select (targets
#    synced from the cluster, tests/rehearsal/rehearsal_prometheus_config.py), the PrometheusRule loaded;
# 4. loopback front doors to the frontend/backend Services (tests/rehearsal/rehearsal_service_proxy.py, the
#    "ingress" and the smoke URL) and a prober on them every 100 ms for the whole run;
# 5. per environment, staging and prod in parallel: deploy r1 (first install: Rollouts skips
#    steps and analysis), deploy r2 (the upgrade: blue-green pre-promotion analysis / canary
#    steps + analysis), with the deploy runtime that `dagger call deploy` runs, the real gates
#    (cosign), the real values files plus tests/rehearsal/overlays/<env>.yaml; then the drills,
#    each judged from outside (tests/rehearsal/rehearsal_judge.py: which digest the Service serves, helm
#    values and history, the AnalysisRuns; tests/rehearsal/rehearsal_prober.py: failed requests):
#    staging: the manual path (autoPromotionEnabled false -> awaiting promotion ->
#      `promote --full` -> verified);
#    prod: c (unsigned r3 -> refused at the gates, exit 2, helm history unchanged),
#      a (5xx for a share of requests -> analysis fails -> abort + rollback, exit 1; the time
#      from the bad canary serving to traffic back on stable), e (canary not scraped -> no data
#      -> analysis fails, not promoted, exit 1), b (readiness never passes -> rollback, exit 1).
#    Faulty releases ra/rb/re are TEST-ONLY layers on r2's backend (tests/rehearsal/faults/).
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
rm -rf "$reports"  # this run's reports only (CI artifacts)
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

# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  touch "$work/probe.csv.stop" "$work/prometheus/sync.stop" "$work/serving-drill-a.txt.stop" 2>/dev/null || :
  [ -n "${sync_pid:-}" ] && wait "$sync_pid" 2>/dev/null || :
  [ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null || :
  for pid in "${proxy_pids[@]}"; do kill "$pid" 2>/dev/null || :; done
  [ -n "${probe_pid:-}" ] && wait "$probe_pid" 2>/dev/null || :
  [ -f "$work/probe.csv" ] && cp "$work/probe.csv" "$reports/probe.csv"
  [ -f "$work/serving-drill-a.txt" ] && cp "$work/serving-drill-a.txt" "$reports/serving-drill-a.txt"
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
declare -A image version
# The release report of RELEASE: digests + a scan verdict. No vulnerability DB is reachable
# offline: the scan gate is exercised with a verdict that says where it came from
# (tests/rehearsal/README.md), the scanner itself is not.
release_report() {
  "$py" - "$work/release-$1.json" "${image[backend-$1]}" "${image[frontend-$1]}" <<'EOF'
import json, sys
out, backend, frontend = sys.argv[1:]
json.dump({"images": {"backend": {"ref": backend}, "frontend": {"ref": frontend}},
           "scan": {"passed": True, "source": "rehearsal: no vulnerability DB offline", "allowlisted": []}},
          open(out, "w"))
EOF
}
# push_sign APP RELEASE [unsigned]: push the tag, record its digest in THIS registry (an image
# ID pushed by earlier runs has other RepoDigests), sign it with the run's key.
push_sign() {
  local ref="$REGISTRY/blog-creator/$1:$2"
  docker --config "$DOCKER_CONFIG_DIR" push "$ref" >>"$reports/build.log" 2>&1
  image[$1-$2]="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" | grep -m1 "^$REGISTRY/blog-creator/$1@")"
  if [ "${3:-}" != unsigned ]; then
    DOCKER_CONFIG="$DOCKER_CONFIG_DIR" cosign sign --key "$work/cosign.key" --tlog-upload=false \
      --allow-http-registry --allow-insecure-registry -y "${image[$1-$2]}" >>"$reports/build.log" 2>&1
  fi
}
for release in r1 r2 r3 r4; do
  for app in backend frontend; do
    DOCKER_BUILDKIT=1 docker build -q -f "dockerfiles/$app.Dockerfile" --target runtime "${base_args[@]}" \
      --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt \
      --build-arg "VERSION=0.0.0-rehearsal-$release" -t "$REGISTRY/blog-creator/$app:$release" . >>"$reports/build.log" 2>&1
    push_sign "$app" "$release" "$([ "$release" = r3 ] && echo unsigned)"
  done
  version[$release]="rehearsal-$release"
  release_report "$release"
done
# The drills' faulty releases: a TEST-ONLY layer on r2's backend (tests/rehearsal/faults/),
# signed like a release; frontend and version stay r2's, so only the backend rolls.
docker tag "$REGISTRY/blog-creator/backend:r2" local/rehearsal-backend:r2
for drill in ra:error-share rb:never-ready re:unscraped; do
  release="${drill%%:*}"
  DOCKER_BUILDKIT=1 docker build -q -f tests/rehearsal/faults/backend-fault.Dockerfile \
    --build-arg BACKEND_IMAGE=local/rehearsal-backend:r2 --build-arg "FAULT=${drill#*:}" \
    -t "$REGISTRY/blog-creator/backend:$release" tests/rehearsal/faults >>"$reports/build.log" 2>&1
  push_sign backend "$release"
  image[frontend-$release]="${image[frontend-r2]}"
  version[$release]="${version[r2]}"
  release_report "$release"
done
log "4 releases + 3 faulty backends built, pushed, all but r3 signed in $((SECONDS - t0)) s"

# -- 3. Prometheus scraping like the chart's ServiceMonitors --------------------------------
for env in $envs; do
  target="$work/target-$env.json"
  "$py" tests/rehearsal/rehearsal_target.py "$env" "http://127.0.0.1:9" >"$target"
  ns="$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['namespace'])" "$target")"
  args=(template blog-creator k8s/chart -n "$ns" -f "k8s/environments/$env.yaml" --set-string "image.backend.digest=${image[backend-r1]#*@}" --set-string "image.frontend.digest=${image[frontend-r1]#*@}")
  while read -r kv; do args+=(--set "$kv"); done < <("$py" -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['extra_values']))" "$target")
  helm "${args[@]}" >"$work/render-$env.yaml"
done
"$py" tests/rehearsal/rehearsal_prometheus_config.py config "$work/prometheus" "$work"/render-*.yaml
promtool check config "$work/prometheus/prometheus.yml" >/dev/null
"$py" tests/rehearsal/rehearsal_prometheus_config.py sync "$KUBECONFIG" "$work/prometheus" 3600 "$work"/render-*.yaml &
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
  "$py" tests/rehearsal/rehearsal_service_proxy.py "$KUBECONFIG" "$ns" blog-creator-frontend 3000 "${front_port[$env]}" 7200 &
  proxy_pids+=($!)
  "$py" tests/rehearsal/rehearsal_service_proxy.py "$KUBECONFIG" "$ns" blog-creator-backend 8000 "$back_port" 7200 &
  proxy_pids+=($!)
  probe_urls+=("http://127.0.0.1:${front_port[$env]}/api/health" "http://127.0.0.1:$back_port/api/v1/auth/me")
done

gh_env() {  # the GitHub environment that approves ENV (pipeline.yaml github_environment, else ENV)
  "$py" -c "import yaml,sys; e=yaml.safe_load(open('pipeline.yaml'))['environments'][sys.argv[1]]; print(e.get('github_environment') or sys.argv[1])" "$1"
}
jq_ns() { "$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['namespace'])" "$work/target-$1.json"; }
deploy_report() { "$py" -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['outcome'], r['exit_code'], r.get('total_seconds'), '-', r['message'][:300])" "$1"; }

# deploy_env ENV RELEASE [EXPECTED_EXIT [STEP [SETTING...]]]: the deploy runtime's CLI, as the
# tools container runs it. Reports go to reports/rehearsal/ENV-STEP (STEP defaults to RELEASE).
# A SETTING is a drill's per-deploy deviation, each listed in tests/rehearsal/README.md "Drill
# settings" (test_overlay.py checks): `values:KEY=VALUE` (one more --set) or `target:KEY=VALUE`.
deploy_env() {
  local env="$1" release="$2" expect="${3:-0}" step="${4:-$2}" url out code start start_epoch
  shift $(($# < 4 ? $# : 4))
  url="http://127.0.0.1:${front_port[$env]}"
  out="$reports/$env-$step"
  mkdir -p "$out"
  "$py" - "$work/target-$env.json" "$url" "$out/target.json" "$@" <<'EOF'
import json, sys
path, url, out, *settings = sys.argv[1:]
t = json.load(open(path))
t.update(url=url, signature_tlog=False, registry_http=True)  # offline: README "Other inputs"
for setting in settings:
    kind, _, kv = setting.partition(":")
    key, _, value = kv.partition("=")
    if kind == "values":
        t["extra_values"] = [*t["extra_values"], kv]
    elif kind == "target":
        t[key] = int(value) if value.isdigit() else value
    else:
        raise SystemExit(f"deploy_env: setting {setting!r}: expected values:KEY=VALUE or target:KEY=VALUE")
json.dump(t, open(out, "w"), indent=2)
EOF
  start=$SECONDS start_epoch="$(date +%s)"
  log "deploy $env $release as $step (expect exit $expect)"
  set +e
  DOCKER_CONFIG="$DOCKER_CONFIG_DIR" PYTHONPATH=src "$py" -m pipeline.deploy deploy \
    --target "$out/target.json" --chart k8s/chart --kubeconfig "$KUBECONFIG" \
    --backend-image "${image[backend-$release]}" --frontend-image "${image[frontend-$release]}" \
    --release-report "$work/release-$release.json" --cosign-key "$work/cosign.pub" \
    --approved-by "rehearsal-operator" --approval-actor "rehearsal-operator" \
    --approval-environment "$(gh_env "$env")" \
    --approval-run-url "https://github.com/local/rehearsal/actions/runs/$$" \
    --version "${version[$release]}" --report-dir "$out" >"$out/report.md" 2>"$out/stderr.log"
  code=$?
  after_action "$env" "$out" "$start_epoch"
  set -e
  echo "| $env | $step ($release) | $code (expected $expect) | $((SECONDS - start)) s | $(deploy_report "$out/deploy-$env.json" 2>/dev/null || echo 'no report') |" >>"$reports/summary.md"
  [ "$code" = "$expect" ] || { log "$env $step exited $code, expected $expect: $out/report.md"; return 1; }
}

# after_action ENV OUT SINCE_EPOCH: what the controller decided, from outside: the analysis runs
# created since the action began (measurements), the Rollouts, helm history.
after_action() {
  kc -n "$(jq_ns "$1")" get analysisruns.argoproj.io,rollouts.argoproj.io -o yaml >"$2/rollouts-and-analysisruns.yaml" 2>&1
  "$py" tests/rehearsal/rehearsal_judge.py analysis "$2/rollouts-and-analysisruns.yaml" "$3" >"$2/analysis.txt" 2>&1 || :
  helm --kubeconfig "$KUBECONFIG" history blog-creator -n "$(jq_ns "$1")" >"$2/helm-history.txt" 2>&1
}

# promote_env ENV STEP: `promote --full` of the paused release deployed as STEP.
promote_env() {
  local env="$1" out="$reports/$1-$2" code start=$SECONDS start_epoch
  start_epoch="$(date +%s)"
  log "promote --full $env ($2)"
  set +e
  PYTHONPATH=src "$py" -m pipeline.deploy promote --full --target "$out/target.json" \
    --chart k8s/chart --kubeconfig "$KUBECONFIG" --approved-by "rehearsal-operator" \
    --approval-actor "rehearsal-operator" --approval-environment "$(gh_env "$env")" \
    --approval-run-url "https://github.com/local/rehearsal/actions/runs/$$" \
    --report-dir "$out" >"$out/promote-report.md" 2>"$out/promote-stderr.log"
  code=$?
  after_action "$env" "$out" "$start_epoch"
  set -e
  echo "| $env | $2: promote --full | $code (expected 0) | $((SECONDS - start)) s | $(deploy_report "$out/promote-$env.json" 2>/dev/null || echo 'no report') |" >>"$reports/summary.md"
  [ "$code" = 0 ] && [ "$(outcome "$out/promote-$env.json")" = succeeded ] || { log "$env promote exited $code: $out/promote-report.md"; return 1; }
}

outcome() { "$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['outcome'])" "$1" 2>/dev/null || echo none; }
backend_digest() { echo "${image[backend-$1]#*@}"; }

# judge ENV DRILL RELEASE: from outside, after a failed release: the backend Service serves only
# RELEASE's digest, Helm's deployed values name it, and the last revision is a rollback.
judge() {
  local env="$1" drill="$2" want ns serving deployed last verdict=ok
  ns="$(jq_ns "$env")" want="$(backend_digest "$3")"
  serving="$("$py" tests/rehearsal/rehearsal_judge.py serving "$KUBECONFIG" "$ns" blog-creator-backend | tr '\n' ' ')"
  deployed="$(helm --kubeconfig "$KUBECONFIG" get values blog-creator -n "$ns" -o json | "$py" -c "import json,sys; print(json.load(sys.stdin)['image']['backend']['digest'])")"
  last="$(helm --kubeconfig "$KUBECONFIG" history blog-creator -n "$ns" --max 1 -o json | "$py" -c "import json,sys; h=json.load(sys.stdin)[-1]; print(h['revision'], h['status'], h['description'])")"
  [ "$serving" = "$want " ] && [ "$deployed" = "$want" ] && [[ "$last" == *"deployed Rollback to"* ]] || verdict=FAILED
  echo "- drill $drill ($env): $verdict — backend Service serves ${serving:-nothing}(want $3 ${want:0:19}…); helm deployed digest ${deployed:0:19}…; last revision: $last" >>"$work/judged-$env.md"
  [ "$verdict" = ok ]
}

{
  echo "# Rehearsal $(date -u +%Y-%m-%dT%H:%M:%SZ) on a real node"
  echo
  echo "| env | step (release) | exit | wall time | outcome exit seconds - message |"
  echo "|---|---|---|---|---|"
} >"$reports/summary.md"

# -- 5. install, then upgrade (D6: a first install runs no canary step and no analysis); drills --
"$py" tests/rehearsal/rehearsal_prober.py "$work/probe.csv" 3600 "${probe_urls[@]}" &
probe_pid=$!

chain_staging() {
  local rc=0
  deploy_env staging r1 || return 1
  deploy_env staging r2 || rc=1
  # the manual path: prod's blueGreen setting -> awaiting promotion -> promote --full -> verified
  # (r4: a pod template no stack of staging still runs; going back to r1 within the 30 s
  # scaleDownDelay would reuse r1's stack, with no preview and no analysis)
  deploy_env staging r4 0 manual values:blueGreen.autoPromotionEnabled=false || rc=1
  if [ "$(outcome "$reports/staging-manual/deploy-staging.json")" != awaiting-promotion ] \
    || ! grep -q "paused for promotion: .*blog-creator-backend" "$reports/staging-manual/report.md"; then
    log "manual path: the backend did not end awaiting promotion"; rc=1
  fi
  promote_env staging manual || rc=1
  return "$rc"
}

chain_prod() {
  local rc=0 before after window
  deploy_env prod r1 || return 1
  deploy_env prod r2 || rc=1
  # drill c: an unsigned digest is refused at the gates; helm history unchanged
  before="$(helm --kubeconfig "$KUBECONFIG" history blog-creator -n blog-prod -o json 2>&1 | md5sum)"
  deploy_env prod r3 2 drill-c || rc=1
  after="$(helm --kubeconfig "$KUBECONFIG" history blog-creator -n blog-prod -o json 2>&1 | md5sum)"
  if [ "$before" = "$after" ]; then
    echo "- drill c (prod): ok — unsigned r3 refused at the gates, helm history unchanged" >>"$work/judged-prod.md"
  else
    echo "- drill c (prod): FAILED — helm history changed" >>"$work/judged-prod.md"; rc=1
  fi
  # drill a: 5xx for a share of requests; which digest the backend Service serves, every second
  "$py" tests/rehearsal/rehearsal_judge.py watch "$KUBECONFIG" blog-prod blog-creator-backend "$work/serving-drill-a.txt" 900 &
  local watch_pid=$!
  deploy_env prod ra 1 drill-a || rc=1
  touch "$work/serving-drill-a.txt.stop"; wait "$watch_pid" || :
  if window="$("$py" tests/rehearsal/rehearsal_judge.py window "$work/serving-drill-a.txt" "$(backend_digest ra)")"; then
    # the prober's failing window: plus kube-proxy's rule sync after the endpoint change
    "$py" -c "import sys; print(sys.argv[1], float(sys.argv[2]) + 2)" "${window% *}" "${window#* }" >"$work/drill-a.window"
    echo "- drill a (prod): the bad canary served from $(date -u -d "@${window% *}" +%T) to $(date -u -d "@${window#* }" +%T): **$("$py" -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{b-a:.0f}')" "${window% *}" "${window#* }") s from bad canary to traffic back on stable** (the backend Service's ready endpoints, polled every 1 s; the prober's drill-a window adds 2 s for kube-proxy)" >>"$work/judged-prod.md"
  else
    echo "- drill a (prod): FAILED — the bad canary never served" >>"$work/judged-prod.md"; rc=1
  fi
  judge prod a r2 || rc=1
  # drill e: a canary Prometheus cannot scrape -> no data -> analysis fails, not promoted (D7)
  deploy_env prod re 1 drill-e || rc=1
  judge prod e r2 || rc=1
  # drill b: readiness never passes; the runtime's deadline (timeout shortened for the drill,
  # README "Drill settings") -> Rollouts abort + helm rollback -> r2 serves, exit 1
  deploy_env prod rb 1 drill-b target:timeout_seconds=10 || rc=1
  judge prod b r2 || rc=1
  return "$rc"
}

failed=0
chain_pids=()
for env in $envs; do
  case "$env" in
    staging) chain_staging & ;;
    prod) chain_prod & ;;
    *) die "unknown environment '$env' (allowed: staging, prod)" ;;
  esac
  chain_pids+=($!)
done
for pid in "${chain_pids[@]}"; do wait "$pid" || failed=1; done

touch "$work/probe.csv.stop"
wait "$probe_pid" || :
{
  echo
  echo '## Drills, judged from outside'
  cat "$work"/judged-*.md 2>/dev/null || echo "(none ran)"
  for d in "$reports"/*-drill-*; do
    [ -f "$d/analysis.txt" ] && { echo; echo "$(basename "$d") analysis runs:"; echo '```'; cat "$d/analysis.txt"; echo '```'; }
  done
  if [ -f "$work/probe.csv" ]; then
    echo; echo '## Prober (every 100 ms per URL, whole rehearsal)'; echo '```'
    # shellcheck disable=SC2046 # the window is two numbers
    "$py" tests/rehearsal/rehearsal_prober.py summary "$work/probe.csv" $(cat "$work/drill-a.window" 2>/dev/null) "drill a window"
    echo '```'
  fi
} >>"$reports/summary.md"
# Issue 15's availability goal: 0 failed requests outside drill a's window, >= 99.9 % overall.
if [ -f "$work/probe.csv" ] && [ -f "$work/drill-a.window" ]; then
  # shellcheck disable=SC2046 # the window is two numbers
  "$py" tests/rehearsal/rehearsal_prober.py goal "$work/probe.csv" $(cat "$work/drill-a.window") >"$work/goal.txt" || failed=1
  { echo; echo "**$(cat "$work/goal.txt")**"; } >>"$reports/summary.md"
fi
cat "$reports/summary.md"
exit "$failed"
