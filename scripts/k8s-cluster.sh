#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the tests, built from Go modules:
# kube-apiserver, kube-controller-manager and kube-scheduler from k8s.io/kubernetes,
# etcd from go.etcd.io/etcd/server, the Argo Rollouts controller and kubectl plugin from
# github.com/argoproj/argo-rollouts, and kwok (fake nodes that mark pods Running/Ready,
# so Deployments become Available without a container runtime).
#
#   scripts/k8s-cluster.sh build                 build the binaries once (cached by version)
#   scripts/k8s-cluster.sh start [--name N] [--nodes K] [--with-rollouts]
#                                                start a cluster; prints KUBECONFIG=<path>;
#                                                --with-rollouts also runs the Argo Rollouts
#                                                controller (install its CRDs first: they come
#                                                from ../shared/crds in the tests)
#   scripts/k8s-cluster.sh stop [--name N]       stop and delete it
#   scripts/k8s-cluster.sh bin-dir               print the folder holding the binaries
#
# Binaries live outside the repository in $K8S_CLUSTER_CACHE (default
# ~/.cache/blog-creator/k8s-cluster/<versions>), so a rebuild happens only when a version
# below changes. What the fake nodes do not prove: containers never run, so probes are not
# executed and there is no pod networking (see tests/cluster/README.md).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.6}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
ROLLOUTS_VERSION="${ROLLOUTS_VERSION:-v1.9.1}"  # the version of ../shared/crds' Argo Rollouts CRDs
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${K8S_CLUSTER_CACHE:-$HOME/.cache/blog-creator/k8s-cluster}"
cache="$cache_root/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-rollouts-$ROLLOUTS_VERSION"
bin="$cache/bin"
export KWOK_WORKDIR="$cache_root/kwok"
export GOWORK=off GOFLAGS=-mod=mod

die() { echo "k8s-cluster: $*" >&2; exit 2; }
log() { echo "k8s-cluster: $*" >&2; }

module_dir() {  # module_dir MODULE@VERSION -> unpacked, read-only module source
  go mod download -json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error","download failed")))'
}

writable_copy() {  # writable_copy SRC DEST
  rm -rf "$2" && mkdir -p "$(dirname "$2")" && cp -r "$1" "$2" && chmod -R u+w "$2"
}

build_kubernetes() {
  local src="$cache/src/kubernetes" minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION"
  writable_copy "$(module_dir "k8s.io/kubernetes@$K8S_VERSION")" "$src"
  # The published module points its k8s.io/* staging modules at ./staging (not shipped
  # in the module zip): use the published modules of the matching v0.N.x release instead.
  local args=() staging_version="v0.${K8S_VERSION#v1.}" module
  while read -r module; do
    case "$module" in
      k8s.io/sample-*) args+=("-dropreplace=$module" "-droprequire=$module") ;;  # examples, unpublished
      *) args+=("-dropreplace=$module" "-require=$module@$staging_version") ;;
    esac
  done < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$src/go.mod")
  rm -f "$src/go.work" "$src/go.work.sum"
  (cd "$src" && go mod edit "${args[@]}")
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  (cd "$src" && go build -ldflags "$ldflags" -o "$bin/" ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler)
  rm -rf "$src"
}

build_etcd() {
  local src="$cache/src/etcd" module
  log "building etcd $ETCD_VERSION"
  writable_copy "$(module_dir "go.etcd.io/etcd/server/v3@$ETCD_VERSION")" "$src"
  local args=()
  for module in go.etcd.io/etcd/api/v3 go.etcd.io/etcd/client/pkg/v3 go.etcd.io/etcd/client/v3 go.etcd.io/etcd/pkg/v3; do
    args+=("-dropreplace=$module" "-require=$module@$ETCD_VERSION")
  done
  (cd "$src" && go mod edit "${args[@]}" && go build -ldflags "-s -w" -o "$bin/etcd" .)
  rm -rf "$src"
}

build_kwok() {
  log "building kwok and kwokctl $KWOK_VERSION"
  GOBIN="$bin" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

build_rollouts() {
  local src="$cache/src/argo-rollouts"
  log "building rollouts-controller and kubectl-argo-rollouts $ROLLOUTS_VERSION"
  # Its go.mod pins k8s.io/* by replace directives, which `go install pkg@version` refuses:
  # build from a copy of the module instead.
  writable_copy "$(module_dir "github.com/argoproj/argo-rollouts@$ROLLOUTS_VERSION")" "$src"
  (cd "$src" && go build -ldflags "-s -w" -o "$bin/" ./cmd/rollouts-controller ./cmd/kubectl-argo-rollouts)
  rm -rf "$src"
}

have() {  # have BINARY... -> true when every one is built
  local b
  for b in "$@"; do [ -x "$bin/$b" ] || return 1; done
}

cmd_build() {
  command -v go >/dev/null || die "go is not installed (needed to build the control plane from the Go module proxy)"
  mkdir -p "$bin"
  have kube-apiserver kube-controller-manager kube-scheduler || build_kubernetes
  have etcd || build_etcd
  have kwok kwokctl || build_kwok
  have rollouts-controller kubectl-argo-rollouts || build_rollouts
  rm -rf "$cache/src"
  log "binaries ready in $bin"
}

require_binaries() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok kwokctl rollouts-controller kubectl-argo-rollouts; do
    [ -x "$bin/$b" ] || die "$bin/$b is missing: run 'scripts/k8s-cluster.sh build' first"
  done
}

parse_name_nodes() {
  name=blog-creator-test nodes=3 with_rollouts=false
  while (($#)); do
    case "$1" in
      --with-rollouts) with_rollouts=true; shift ;;
      --name) [ $# -ge 2 ] || die "--name needs a value"; name=$2; shift 2 ;;
      --nodes) [[ ${2:-} =~ ^[1-9][0-9]?$ ]] || die "--nodes must be a number from 1 to 99, got '${2:-}'"; nodes=$2; shift 2 ;;
      *) die "unknown argument '$1' (allowed: --name NAME, --nodes K, --with-rollouts)" ;;
    esac
  done
  [[ $name =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || die "--name must be a DNS label (lowercase letters, digits, '-'), got '$name'"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_rollouts() {  # the Argo Rollouts controller as a host process of this cluster
  local dir="$KWOK_WORKDIR/clusters/$name"
  setsid nohup "$bin/rollouts-controller" --kubeconfig "$1" --leader-elect=false \
    --healthzPort "$(free_port)" --metricsport "$(free_port)" \
    >"$dir/logs/rollouts-controller.log" 2>&1 </dev/null &
  echo $! >"$dir/rollouts-controller.pid"
  log "Argo Rollouts controller started (log: $dir/logs/rollouts-controller.log)"
}

stop_rollouts() {
  local pidfile="$KWOK_WORKDIR/clusters/$name/rollouts-controller.pid"
  [ -f "$pidfile" ] || return 0
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

cmd_start() {
  parse_name_nodes "$@"
  require_binaries
  local kubectl
  kubectl="$(PATH="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}/bin:$PATH" command -v kubectl)" \
    || die "kubectl not found: run scripts/install-k8s-tools.sh"
  local kubeconfig="$KWOK_WORKDIR/clusters/$name/kubeconfig.yaml" started=$SECONDS
  stop_rollouts
  "$bin/kwokctl" delete cluster --name "$name" >/dev/null 2>&1 || true
  "$bin/kwokctl" create cluster --name "$name" --runtime binary --wait 120s \
    --kube-apiserver-binary "$bin/kube-apiserver" \
    --kube-controller-manager-binary "$bin/kube-controller-manager" \
    --kube-scheduler-binary "$bin/kube-scheduler" \
    --etcd-binary "$bin/etcd" --kwok-controller-binary "$bin/kwok" \
    --config "$here/k8s-cluster/kwok-stages.yaml" >&2
  "$bin/kwokctl" scale node --name "$name" --replicas "$nodes" >&2
  # Label the fake nodes with zones so topology spread constraints can be satisfied.
  local i zones=(zone-a zone-b zone-c)
  for ((i = 0; i < nodes; i++)); do
    "$kubectl" --kubeconfig "$kubeconfig" label --overwrite "node/node-$(printf '%06d' "$i")" \
      "topology.kubernetes.io/zone=${zones[i % 3]}" >/dev/null
  done
  if [ "$with_rollouts" = true ]; then start_rollouts "$kubeconfig"; fi
  log "cluster '$name' with $nodes fake nodes started in $((SECONDS - started)) s"
  echo "KUBECONFIG=$kubeconfig"
}

cmd_stop() {
  parse_name_nodes "$@"
  [ -x "$bin/kwokctl" ] || exit 0
  stop_rollouts
  "$bin/kwokctl" delete cluster --name "$name" >&2
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  bin-dir) echo "$bin" ;;
  *) die "usage: $0 build | start [--name N] [--nodes K] | stop [--name N] | bin-dir" ;;
esac
