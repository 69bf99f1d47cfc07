#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the tests, built from Go modules:
# kube-apiserver, kube-controller-manager and kube-scheduler from k8s.io/kubernetes,
# etcd from go.etcd.io/etcd/server, the Argo Rollouts controller and kubectl plugin from
# github.com/argoproj/argo-rollouts, and either kwok fake nodes (mark pods Running/Ready,
# so Deployments become Available without a container runtime) or, with --real, one real
# node that runs the images: kubelet and kube-proxy from the same k8s.io/kubernetes build,
# Debian's containerd/runc/CNI plugins, CoreDNS, a local registry (k8s-cluster/real-node.sh).
#
#   scripts/k8s-cluster.sh build [--real [--with-prometheus]]
#                                                build the binaries once (cached by version);
#                                                --real adds kubelet, kube-proxy, CoreDNS and
#                                                the pause image (and the Debian packages)
#   scripts/k8s-cluster.sh start [--name N] [--nodes K] [--with-rollouts]
#                                                start a kwok cluster; prints KUBECONFIG=<path>;
#                                                --with-rollouts also runs the Argo Rollouts
#                                                controller (install its CRDs first: they come
#                                                from ../shared/crds in the tests)
#   scripts/k8s-cluster.sh start --real [--name N] [--with-rollouts] [--with-prometheus]
#                                     [--with-network-policy]
#                                                start a cluster with one real node; prints
#                                                KUBECONFIG=, REGISTRY= (push there, reference
#                                                images by digest) and REGISTRY_DOCKER_CONFIG=
#                                                (docker --config DIR push ...);
#                                                --with-prometheus: the Prometheus Operator and
#                                                a Prometheus (monitoring/kube-prometheus-stack-
#                                                prometheus:9090) reading the chart's
#                                                ServiceMonitor/PrometheusRule (needs
#                                                build --real --with-prometheus);
#                                                --with-network-policy: kube-router's firewall
#                                                enforces NetworkPolicies
#   scripts/k8s-cluster.sh stop [--name N]       stop and delete it (kwok or real, also after a crash)
#   scripts/k8s-cluster.sh restart-apiserver [--name N] [--down-seconds S]
#                                                stop the API server alone, start it again after S s
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
# v1.14.1 is the newest CoreDNS on k8s.io/client-go v0.34 (bumped to the control plane's
# v0.34.x at build, so the Go build cache is shared).
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.1}"
# v0.8.0 (k8s.io v0.33) built against the control plane's k8s.io v0.34.x modules; v0.9.0
# needs k8s.io v0.36.
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.8.0}"
# The NetworkPolicy enforcer: kube-router with only its firewall. v2.1.0 is the newest the Go
# module proxy serves (later versions answer 403).
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
# --with-prometheus: the Prometheus Operator (v0.85.0: the newest the proxy serves) and its
# config reloader from the Go module, and Prometheus 3.7.3 (module v0.307.3, k8s.io v0.34)
# with only Kubernetes service discovery: Debian's prometheus 2.42 is built without
# Kubernetes SD ("field kubernetes_sd_configs not found in type config.ScrapeConfig"), so the
# operator's configuration cannot load in it. Alertmanager is Debian's 0.25 package.
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.307.3}"
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${K8S_CLUSTER_CACHE:-$HOME/.cache/blog-creator/k8s-cluster}"
cache="$cache_root/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-rollouts-$ROLLOUTS_VERSION"
bin="$cache/bin"
addons="$cache_root/real-node-k8s-$K8S_VERSION-coredns-$COREDNS_VERSION-metrics-server-$METRICS_SERVER_VERSION-kube-router-$KUBE_ROUTER_VERSION"  # the real node's own images and daemons
COREDNS_IMAGE="docker.io/blog-creator/coredns:$COREDNS_VERSION"
prometheus_addons="$cache_root/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
PROMETHEUS_IMAGE="docker.io/blog-creator/prometheus:$PROMETHEUS_MODULE_VERSION"
ALERTMANAGER_IMAGE="docker.io/blog-creator/alertmanager:debian-0.25"
CONFIG_RELOADER_IMAGE="docker.io/blog-creator/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION"
METRICS_SERVER_IMAGE="docker.io/blog-creator/metrics-server:$METRICS_SERVER_VERSION"
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

build_kubernetes() {  # build_kubernetes CMD... : one `go build` of the k8s.io/kubernetes commands
  local src="$cache/src/kubernetes" minor="${K8S_VERSION#v1.}" cmds=("$@")
  minor="${minor%%.*}"
  log "building ${cmds[*]} $K8S_VERSION"
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
  (cd "$src" && go build -ldflags "$ldflags" -o "$bin/" "${cmds[@]/#/./cmd/}")
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

build_pause() {
  log "building the pause image (static Go binary FROM scratch)"
  (cd "$here/k8s-cluster/pause" && CGO_ENABLED=0 go build -ldflags "-s -w" -o "$addons/pause" .)
  python3 "$here/k8s-cluster/image_archive.py" "$addons/pause.tar" docker.io/blog-creator/pause:local \
    --entrypoint /pause "$addons/pause:/pause"
  rm -f "$addons/pause"
}

build_coredns() {  # CoreDNS with only the plugins the cluster's Corefile uses
  local src="$cache/src/coredns" staging_version="v0.${K8S_VERSION#v1.}"
  log "building CoreDNS $COREDNS_VERSION with the plugins of k8s-cluster/coredns-plugin.cfg"
  writable_copy "$(module_dir "github.com/coredns/coredns@$COREDNS_VERSION")" "$src"
  cp "$here/k8s-cluster/coredns-plugin.cfg" "$src/plugin.cfg"
  (
    cd "$src"
    go mod edit -require="k8s.io/api@$staging_version" -require="k8s.io/apimachinery@$staging_version" \
      -require="k8s.io/client-go@$staging_version"
    go run directives_generate.go
    CGO_ENABLED=0 go build -ldflags "-s -w" -o "$addons/coredns" .
  )
  python3 "$here/k8s-cluster/image_archive.py" "$addons/coredns.tar" "$COREDNS_IMAGE" \
    --entrypoint /coredns --user 0:0 "$addons/coredns:/coredns"
  rm -f "$addons/coredns"
  rm -rf "$src"
}

build_metrics_server() {  # metrics-server for the HPA, on the control plane's k8s.io modules
  local src="$cache/src/metrics-server" staging_version="v0.${K8S_VERSION#v1.}" args=() module
  log "building metrics-server $METRICS_SERVER_VERSION"
  writable_copy "$(module_dir "sigs.k8s.io/metrics-server@$METRICS_SERVER_VERSION")" "$src"
  for module in api apimachinery apiserver client-go component-base metrics kms; do
    args+=("-require=k8s.io/$module@$staging_version")
  done
  (
    cd "$src"
    go mod edit "${args[@]}"
    CGO_ENABLED=0 go build -ldflags "-s -w -X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
      -o "$addons/metrics-server" ./cmd/metrics-server
  )
  python3 "$here/k8s-cluster/image_archive.py" "$addons/metrics-server.tar" "$METRICS_SERVER_IMAGE" \
    --entrypoint /metrics-server "$addons/metrics-server:/metrics-server"
  rm -f "$addons/metrics-server"
  rm -rf "$src"
}

build_kube_router() {  # a host process in the node's network namespace, like kube-proxy
  local src="$cache/src/kube-router" staging_version="v0.${K8S_VERSION#v1.}"
  log "building kube-router $KUBE_ROUTER_VERSION"
  writable_copy "$(module_dir "github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION")" "$src"
  (
    cd "$src"
    go mod edit -require="k8s.io/api@$staging_version" -require="k8s.io/apimachinery@$staging_version" \
      -require="k8s.io/client-go@$staging_version" -require="k8s.io/cri-api@$staging_version"
    CGO_ENABLED=0 go build -ldflags "-s -w" -o "$addons/kube-router" ./cmd/kube-router
  )
  rm -rf "$src"
}

build_prometheus_operator() {  # operator + config reloader; Debian's Prometheus packed as an image
  local src="$cache/src/prometheus-operator" module=github.com/prometheus-operator/prometheus-operator
  local dest="$prometheus_addons" lib
  log "building the Prometheus Operator and prometheus-config-reloader $PROMETHEUS_OPERATOR_VERSION"
  mkdir -p "$dest/crds"
  writable_copy "$(module_dir "$module@$PROMETHEUS_OPERATOR_VERSION")" "$src"
  (
    cd "$src"
    # Its go.mod points two nested modules at ./pkg/... (not in the module zip): use the
    # published modules of the same version instead.
    go mod edit -dropreplace="$module/pkg/apis/monitoring" -require="$module/pkg/apis/monitoring@$PROMETHEUS_OPERATOR_VERSION" \
      -dropreplace="$module/pkg/client" -require="$module/pkg/client@$PROMETHEUS_OPERATOR_VERSION"
    CGO_ENABLED=0 go build -ldflags "-s -w" -o "$dest/" ./cmd/operator ./cmd/prometheus-config-reloader
    cp example/prometheus-operator-crd/*.yaml "$dest/crds/"
  )
  python3 "$here/k8s-cluster/image_archive.py" "$dest/prometheus-config-reloader.tar" "$CONFIG_RELOADER_IMAGE" \
    --entrypoint /bin/prometheus-config-reloader --user 65534:65534 "$dest/prometheus-config-reloader:/bin/prometheus-config-reloader"
  rm -f "$dest/prometheus-config-reloader"
  rm -rf "$src"
}

build_prometheus() {  # Prometheus 3.x from its Go module with only the Kubernetes SD plugin
  local src="$cache/src/prometheus" staging_version="v0.${K8S_VERSION#v1.}" release="${PROMETHEUS_MODULE_VERSION#v0.}"
  release="${release:0:1}.$((10#${release:1:2})).${release#*.}"  # module v0.307.3 is Prometheus 3.7.3
  log "building Prometheus (module $PROMETHEUS_MODULE_VERSION, Kubernetes service discovery only)"
  writable_copy "$(module_dir "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION")" "$src"
  cat >"$src/plugins/plugins.go" <<'EOF'
package plugins

import _ "github.com/prometheus/prometheus/discovery/kubernetes" // the only SD a cluster needs
EOF
  (
    cd "$src"
    go mod edit -require="k8s.io/api@$staging_version" -require="k8s.io/apimachinery@$staging_version" \
      -require="k8s.io/client-go@$staging_version"
    CGO_ENABLED=0 go build -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
      -o "$prometheus_addons/prometheus" ./cmd/prometheus
  )
  python3 "$here/k8s-cluster/image_archive.py" "$prometheus_addons/prometheus.tar" "$PROMETHEUS_IMAGE" \
    --entrypoint /bin/prometheus --user 65534:65534 "$prometheus_addons/prometheus:/bin/prometheus"
  rm -f "$prometheus_addons/prometheus"
  rm -rf "$src"
}

pack_debian_binary() {  # PACKAGE BINARY DEST ARCHIVE IMAGE [SRC:DEST...]: a glibc-only Debian binary as an image
  local package=$1 binary=$2 dest=$3 archive=$4 image=$5 lib
  shift 5
  [ -x "$binary" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null
  local files=("$binary:$dest" "$@")
  for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do files+=("$lib:$lib"); done
  python3 "$here/k8s-cluster/image_archive.py" "$archive" "$image" --entrypoint "$dest" --user 65534:65534 "${files[@]}"
}

cmd_build() {
  local real=false kube=(kube-apiserver kube-controller-manager kube-scheduler) missing=() b
  while (($#)); do
    case "$1" in
      --real) real=true; shift ;;
      --with-prometheus) with_prometheus=true; shift ;;
      *) die "unknown argument '$1' to build (allowed: --real, --with-prometheus)" ;;
    esac
  done
  command -v go >/dev/null || die "go is not installed (needed to build the control plane from the Go module proxy)"
  mkdir -p "$bin"
  if [ "$real" = true ]; then
    real_install_packages
    kube+=(kubelet kube-proxy)
  fi
  for b in "${kube[@]}"; do have "$b" || missing+=("$b"); done
  ((${#missing[@]} == 0)) || build_kubernetes "${missing[@]}"
  have etcd || build_etcd
  have kwok kwokctl || build_kwok
  have rollouts-controller kubectl-argo-rollouts || build_rollouts
  if [ "$real" = true ]; then
    mkdir -p "$addons"
    [ -f "$addons/pause.tar" ] || build_pause
    [ -f "$addons/coredns.tar" ] || build_coredns
    [ -f "$addons/metrics-server.tar" ] || build_metrics_server
    [ -x "$addons/kube-router" ] || build_kube_router
    if [ "$with_prometheus" = true ]; then
      [ -x "$prometheus_addons/operator" ] || build_prometheus_operator
      if [ ! -f "$prometheus_addons/prometheus-$PROMETHEUS_MODULE_VERSION.built" ]; then
        build_prometheus  # a plain command: set -e stops on a failed build, so no marker then
        touch "$prometheus_addons/prometheus-$PROMETHEUS_MODULE_VERSION.built"
      fi
      # Debian's build reads its notification templates from /usr/share/prometheus/alertmanager.
      [ -f "$prometheus_addons/alertmanager.tar" ] || pack_debian_binary prometheus-alertmanager \
        /usr/bin/prometheus-alertmanager /bin/alertmanager "$prometheus_addons/alertmanager.tar" "$ALERTMANAGER_IMAGE" \
        /usr/share/prometheus/alertmanager/default.tmpl:/usr/share/prometheus/alertmanager/default.tmpl \
        /usr/share/prometheus/alertmanager/email.tmpl:/usr/share/prometheus/alertmanager/email.tmpl
    fi
    real_check_host
  fi
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
  name=blog-creator-test nodes=3 with_rollouts=false real=false down_seconds=5
  while (($#)); do
    case "$1" in
      --with-rollouts) with_rollouts=true; shift ;;
      --with-prometheus) [ "$allow_real" = true ] || die "--with-prometheus is allowed with start --real only"
        with_prometheus=true; shift ;;
      --with-network-policy) [ "$allow_real" = true ] || die "--with-network-policy is allowed with start --real only"
        with_network_policy=true; shift ;;
      --real) [ "$allow_real" = true ] || die "--real is allowed with build and start only"; real=true; shift ;;
      --down-seconds) [ "$allow_down" = true ] && [[ ${2:-} =~ ^[0-9]{1,3}$ ]] \
          || die "--down-seconds takes a number of seconds (0-999), with restart-apiserver only; got '${2:-}'"
        down_seconds=$2; shift 2 ;;
      --name) [ $# -ge 2 ] || die "--name needs a value"; name=$2; shift 2 ;;
      --nodes) [[ ${2:-} =~ ^[1-9][0-9]?$ ]] || die "--nodes must be a number from 1 to 99, got '${2:-}'"; nodes=$2; shift 2 ;;
      *) die "unknown argument '$1' (allowed: --name NAME, --nodes K, --with-rollouts, --real, --with-prometheus, --with-network-policy; restart-apiserver: --down-seconds S)" ;;
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

find_kubectl() {
  kubectl="$(PATH="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}/bin:$PATH" command -v kubectl)" \
    || die "kubectl not found: run scripts/install-k8s-tools.sh"
}

cmd_start() {
  allow_real=true parse_name_nodes "$@"
  find_kubectl
  [ "$with_prometheus$with_network_policy" = falsefalse ] || [ "$real" = true ] \
    || die "--with-prometheus and --with-network-policy need --real (the kwok nodes run no containers)"
  if [ "$real" = true ]; then
    cmd_start_real
    return
  fi
  require_binaries
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
  stop_rollouts
  # An API server started again by restart-apiserver is not kwokctl's: stop it here.
  local api_pid
  api_pid="$(cat "$KWOK_WORKDIR/clusters/$name/pids/kube-apiserver.pid" 2>/dev/null)" \
    && tr '\0' ' ' <"/proc/$api_pid/cmdline" 2>/dev/null | grep -q "clusters/$name/" \
    && kill -9 "$api_pid" 2>/dev/null || :
  if [ -x "$bin/kwokctl" ] && [ -d "$KWOK_WORKDIR/clusters/$name" ]; then
    "$bin/kwokctl" delete cluster --name "$name" >&2
  fi
  real_stop "$name"
}

cmd_restart_apiserver() {  # the API server alone: the same command line, after S seconds down
  allow_down=true parse_name_nodes "$@"
  find_kubectl
  local dir="$KWOK_WORKDIR/clusters/$name" pid args=()
  pid="$(cat "$dir/pids/kube-apiserver.pid" 2>/dev/null)" && [ -r "/proc/$pid/cmdline" ] \
    || die "no running API server for cluster '$name' (start it with 'scripts/k8s-cluster.sh start --name $name')"
  mapfile -d '' args <"/proc/$pid/cmdline"
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  log "API server of '$name' stopped; starting it again in $down_seconds s"
  sleep "$down_seconds"
  # exec: the pid file names the API server itself (stop kills it), and no shell of ours keeps
  # the caller's stdout open.
  (cd "$dir" && exec setsid nohup "${args[@]}" >>"$dir/logs/kube-apiserver.log" 2>&1 </dev/null) &
  echo $! >"$dir/pids/kube-apiserver.pid"
  local deadline=$((SECONDS + 60))
  until "$kubectl" --kubeconfig "$dir/kubeconfig.yaml" get --raw /readyz >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "the API server of '$name' is not ready 60 s after its restart (log: $dir/logs/kube-apiserver.log)"
    sleep 0.5
  done
  log "API server of '$name' ready again"
}

# shellcheck source=./k8s-cluster/real-node.sh
. "$here/k8s-cluster/real-node.sh"
allow_real=false allow_down=false with_prometheus=false with_network_policy=false

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  restart-apiserver) shift; cmd_restart_apiserver "$@" ;;
  bin-dir) echo "$bin" ;;
  addons-dir) echo "$addons" ;;
  *) die "usage: $0 build [--real] | start [--real] [--name N] [--nodes K] [--with-rollouts] | stop [--name N] | restart-apiserver [--name N] [--down-seconds S] | bin-dir" ;;
esac
