# shellcheck shell=bash disable=SC2154  # here, bin, addons, name, kubectl, ... come from k8s-cluster.sh
# The real node of `scripts/k8s-cluster.sh start --real` (sourced by k8s-cluster.sh).
#
# Layout of one real cluster NAME (slot S = 1..8, chosen free at start):
#   - control plane: kwokctl's binary runtime as in kwok mode, without the kwok controller;
#     the API server advertises 10.250.S.1 (pods reach it there) and serves Services from
#     10.(230+S).0.0/16;
#   - network namespace bck<S> joined to the host by the veth pair bck<S>h (10.250.S.1, host)
#     / bck<S>n (10.250.S.2, node). containerd, the CNI bridge cni0 (pods 10.(240+S).0.0/24),
#     kube-proxy, kube-router (--with-network-policy: its firewall only) and their iptables rules live in
#     that namespace. It has NO default route: a pod
#     can reach only this cluster and the host end of the link, never the machine's network.
#     The host routes the pod and Service CIDRs into it, so a cluster address nobody serves
#     is answered "unreachable" there instead of leaving by the host's default route;
#   - the kubelet in that namespace too (its probes come from a local address, which
#     kube-router's firewall accepts), bound to 10.250.S.2, cgroups below /blog-creator-NAME;
#   - Debian docker-registry with htpasswd: one process on 127.0.0.1 (push, printed as
#     REGISTRY) and one on 10.250.S.1 (the node pulls through containerd's mirror setting);
#   - CoreDNS (kube-system/kube-dns at 10.(230+S).0.10), metrics-server (not awaited at
#     start: `kubectl top` answers ~30 s later), static hostPath PVs, zone label.
# All state is below $REAL_STATE_ROOT/NAME; `stop` finds every process, mount, cgroup and
# interface of the cluster from it, also after a crash.

REAL_STATE_ROOT="${K8S_REAL_STATE:-/var/lib/blog-creator-k8s}"
REAL_SLOTS=8
PAUSE_IMAGE=docker.io/blog-creator/pause:local
real_tools=(containerd ctr containerd-shim-runc-v2 runc nsenter iptables ip docker-registry htpasswd conntrack)
real_packages=(containerd runc containernetworking-plugins docker-registry apache2-utils iptables conntrack iproute2 util-linux)
cni_plugins=(bridge host-local loopback portmap)
saved_sysctls=(kernel.panic kernel.panic_on_oops vm.overcommit_memory)

real_install_packages() {  # Debian packages the node needs (build --real installs missing ones)
  local missing=() pkg
  for pkg in "${real_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing Debian packages ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

real_check_host() {  # one line naming each missing tool or kernel feature
  local missing=() tool p
  for tool in "${real_tools[@]}"; do command -v "$tool" >/dev/null || missing+=("command $tool"); done
  for p in "${cni_plugins[@]}"; do [ -x "/usr/lib/cni/$p" ] || missing+=("CNI plugin /usr/lib/cni/$p"); done
  [ "$(id -u)" = 0 ] || missing+=("root (network namespaces, mounts, cgroups)")
  [ -e /proc/self/ns/net ] || missing+=("kernel: network namespaces")
  grep -qw overlay /proc/filesystems || missing+=("kernel: overlay filesystem (containerd's overlayfs snapshotter)")
  [ -d /proc/sys/net/bridge ] || missing+=("kernel: br_netfilter (/proc/sys/net/bridge)")
  for p in cpu memory pids; do
    [ -d "/sys/fs/cgroup/$p" ] || grep -qw "$p" /sys/fs/cgroup/cgroup.controllers 2>/dev/null || missing+=("cgroup controller $p")
  done
  local joined
  joined="$(printf '%s, ' "${missing[@]}")"
  ((${#missing[@]} == 0)) || die "the real node needs: ${joined%, } (run 'scripts/k8s-cluster.sh build --real' as root)"
}

real_vars() {  # real_vars NAME SLOT -> the cluster's paths and addresses
  state="$REAL_STATE_ROOT/$1" slot=$2
  netns="bck$slot" veth_host="bck${slot}h" veth_node="bck${slot}n"
  host_ip="10.250.$slot.1" node_ip="10.250.$slot.2" link_cidr="10.250.$slot.0/24"
  pod_cidr="10.$((240 + slot)).0.0/16" node_pod_cidr="10.$((240 + slot)).0.0/24" pod_gateway="10.$((240 + slot)).0.1"
  svc_cidr="10.$((230 + slot)).0.0/16" api_svc_ip="10.$((230 + slot)).0.1" dns_ip="10.$((230 + slot)).0.10"
  node_name="$1-node" cgroup_root="blog-creator-$1"
}

real_claim_slot() {  # first free slot, claimed atomically (mkdir)
  local s
  mkdir -p "$REAL_STATE_ROOT/slots"
  for ((s = 1; s <= REAL_SLOTS; s++)); do
    if mkdir "$REAL_STATE_ROOT/slots/$s" 2>/dev/null; then
      echo "$1" >"$REAL_STATE_ROOT/slots/$s/name"
      echo "$s"
      return 0
    fi
  done
  die "all $REAL_SLOTS real-node slots are in use ($(cat "$REAL_STATE_ROOT"/slots/*/name | tr '\n' ' ')): stop one with 'scripts/k8s-cluster.sh stop --name N'"
}

real_check_cidrs() {  # the cluster's CIDRs must not overlap any route or address of this host
  ip -4 -o route show table all | python3 -c '
import ipaddress, sys
mine = [ipaddress.ip_network(c) for c in sys.argv[1:]]
for line in sys.stdin:
    words = line.split()
    if words[0] in ("local", "broadcast", "unreachable", "blackhole", "prohibit", "throw"):
        words = words[1:]
    if words[0] == "default" or "/" not in words[0] and not words[0][0].isdigit():
        continue
    try:
        route = ipaddress.ip_network(words[0], strict=False)
    except ValueError:
        continue
    for net in mine:
        if net.overlaps(route):
            sys.exit(f"k8s-cluster: cluster CIDR {net} overlaps the host route \"{line.strip()}\": stop the cluster using it or free the route")
' "$link_cidr" "$pod_cidr" "$svc_cidr"
}

render() {  # render TEMPLATE OUT < KEY=VALUE lines (stdin: values never appear in argv)
  python3 -c '
import re, sys
text = open(sys.argv[1]).read()
for line in sys.stdin.read().splitlines():
    key, _, value = line.partition("=")
    text = text.replace("@" + key + "@", value)
left = re.search(r"@[A-Z_]+@", text)
if left:
    sys.exit(f"render: no value for {left.group(0)} in {sys.argv[1]}")
open(sys.argv[2], "w").write(text)
' "$1" "$2"
}

real_values() {  # the placeholders every template may use
  cat <<EOF
STATE=$state
NAME=$name
NODE_NAME=$node_name
HOST_IP=$host_ip
NODE_IP=$node_ip
POD_CIDR=$pod_cidr
NODE_POD_CIDR=$node_pod_cidr
POD_GATEWAY=$pod_gateway
SVC_CIDR=$svc_cidr
DNS_IP=$dns_ip
CGROUP_ROOT=$cgroup_root
PAUSE_IMAGE=$PAUSE_IMAGE
COREDNS_IMAGE=$COREDNS_IMAGE
METRICS_SERVER_IMAGE=$METRICS_SERVER_IMAGE
EOF
}

daemon() {  # daemon NAME CMD... : detached, logged to $state/logs/NAME.log
  local what=$1
  shift
  setsid nohup "$@" >"$state/logs/$what.log" 2>&1 </dev/null &
  echo $! >"$state/pids/$what.pid"
}

wait_for() {  # wait_for SECONDS WHAT CMD...
  local deadline=$((SECONDS + $1)) what=$2 limit=$1
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after $limit s waiting for $what (logs: $state/logs)"
    sleep 0.5
  done
}

real_network_up() {
  ip netns add "$netns"
  ip link add "$veth_host" type veth peer name "$veth_node"
  ip link set "$veth_node" netns "$netns"
  ip addr add "$host_ip/24" dev "$veth_host"
  ip link set "$veth_host" up
  ip netns exec "$netns" ip link set lo up
  ip netns exec "$netns" ip addr add "$node_ip/24" dev "$veth_node"
  ip netns exec "$netns" ip link set "$veth_node" up
  ip netns exec "$netns" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$netns" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  # An unreachable default route: anything not of this cluster gets an immediate error.
  ip netns exec "$netns" ip route add unreachable default
  ip route add "$pod_cidr" via "$node_ip" dev "$veth_host"
  ip route add "$svc_cidr" via "$node_ip" dev "$veth_host"
}

real_save_sysctls() {  # the host values the kubelet rewrites, saved once for all real clusters
  local file="$REAL_STATE_ROOT/host-sysctls" key
  [ -f "$file" ] && return 0
  for key in "${saved_sysctls[@]}"; do echo "$key=$(sysctl -n "$key")"; done >"$file.tmp"
  mv "$file.tmp" "$file"
}

real_host_iptables_cleanup() {  # the kubelet's chains in the host namespace, when no real cluster is left
  compgen -G "$REAL_STATE_ROOT/slots/*" >/dev/null && return 0
  local cmd table chain
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    while "$cmd" -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    while "$cmd" -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
    for table in filter nat mangle; do
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
        "$cmd" -t "$table" -F "$chain" 2>/dev/null && "$cmd" -t "$table" -X "$chain" 2>/dev/null
      done
    done
  done
  return 0
}

real_restore_sysctls() {  # when no real cluster is left
  local file="$REAL_STATE_ROOT/host-sysctls" line
  [ -f "$file" ] || return 0
  compgen -G "$REAL_STATE_ROOT/slots/*" >/dev/null && return 0
  while read -r line; do sysctl -qw "$line"; done <"$file"
  rm -f "$file"
}

real_registry_up() {  # two registry processes on one storage; credentials never on argv/stdout
  local user=blog-creator password port node_port auth
  mkdir -p "$state/registry/data" "$state/docker-config"
  password="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
  printf '%s' "$password" | htpasswd -iBc "$state/registry/htpasswd" "$user" 2>/dev/null
  port="$(free_port)"
  node_port="$(free_port)"
  registry="127.0.0.1:$port" registry_node="$host_ip:$node_port"
  render "$here/k8s-cluster/node/registry.yml" "$state/registry/push.yml" < <(real_values; echo "ADDR=$registry")
  render "$here/k8s-cluster/node/registry.yml" "$state/registry/pull.yml" < <(real_values; echo "ADDR=$registry_node")
  daemon registry docker-registry serve "$state/registry/push.yml"
  daemon registry-node docker-registry serve "$state/registry/pull.yml"
  auth="$(printf '%s:%s' "$user" "$password" | base64 -w0)"
  (umask 077 && printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$registry" "$auth" >"$state/docker-config/config.json")
  (umask 077 && render "$here/k8s-cluster/node/containerd.toml" "$state/containerd.toml" < <(
    real_values
    printf 'REGISTRY=%s\nREGISTRY_NODE=%s\nREGISTRY_USER=%s\nREGISTRY_PASSWORD=%s\n' "$registry" "$registry_node" "$user" "$password"
  ))
  wait_for 20 "the registry on $registry" curl -fsS -o /dev/null -w '%{http_code}' --noproxy '*' -u "$user:$password" "http://$registry/v2/"
}

real_containerd_up() {
  mkdir -p "$state/cni/net.d" "$state/cni/ipam"
  render "$here/k8s-cluster/node/cni.conflist" "$state/cni/net.d/10-pods.conflist" < <(real_values)
  daemon containerd nsenter --net="/run/netns/$netns" -- containerd --config "$state/containerd.toml"
  wait_for 30 "containerd" ctr --address "$state/containerd.sock" version
  local archive
  for archive in "$addons/pause.tar" "$addons/coredns.tar" "$addons/metrics-server.tar"; do
    ctr --address "$state/containerd.sock" -n k8s.io images import --no-unpack "$archive" >/dev/null
  done
}

real_control_plane_up() {  # kwokctl's control plane without the kwok controller
  # Component flags go in the configuration file: kwokctl v0.7.0's repeated --extra-args for
  # more than one component panics (index out of range in mutationComponentPatches).
  cat >"$state/kwokctl.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  kubeApiserverCertSANs: [$host_ip, $api_svc_ip]
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - {key: advertise-address, value: "$host_ip"}
  - {key: service-cluster-ip-range, value: "$svc_cidr"}
  - {key: enable-aggregator-routing, value: "true"}
  # Reach kubelets by IP: resolving the node name would ask the machine's DNS resolver.
  - {key: kubelet-preferred-address-types, value: "InternalIP"}
  # Aggregated APIs (metrics-server) authenticate the API server's proxy client by this CA.
  - {key: requestheader-client-ca-file, value: "$KWOK_WORKDIR/clusters/$name/pki/ca.crt"}
  - {key: requestheader-allowed-names, value: ""}
  - {key: requestheader-username-headers, value: X-Remote-User}
  - {key: requestheader-group-headers, value: X-Remote-Group}
  - {key: requestheader-extra-headers-prefix, value: X-Remote-Extra-}
- name: kube-controller-manager
  extraArgs:
  - {key: service-cluster-ip-range, value: "$svc_cidr"}
  - {key: allocate-node-cidrs, value: "true"}
  - {key: cluster-cidr, value: "$pod_cidr"}
  - {key: node-cidr-mask-size, value: "24"}
  # One instance each: without leader election they outlive an API server outage (with it they
  # exit on "leaderelection lost" ~10 s into one, and nothing restarts them: restart-apiserver).
  - {key: leader-elect, value: "false"}
- name: kube-scheduler
  extraArgs:
  - {key: leader-elect, value: "false"}
EOF
  "$bin/kwokctl" create cluster --name "$name" --runtime binary --wait 120s \
    --kube-apiserver-binary "$bin/kube-apiserver" \
    --kube-controller-manager-binary "$bin/kube-controller-manager" \
    --kube-scheduler-binary "$bin/kube-scheduler" \
    --etcd-binary "$bin/etcd" --kwok-controller-binary "$bin/kwok" \
    --disable kwok-controller --config "$state/kwokctl.yaml" >&2
  # The node's components outside the host namespace reach the API server on the link.
  sed "s#server: https://127.0.0.1:#server: https://$host_ip:#" "$kubeconfig" >"$state/node-kubeconfig.yaml"
}

real_cgroups_up() {  # the kubelet's cgroup root must exist in every hierarchy (cgroup v1)
  local h
  for h in /sys/fs/cgroup/*/; do
    mkdir -p "$h$cgroup_root"
    if [ -f "${h}cpuset.cpus" ]; then  # a v1 cpuset child starts empty
      cat "${h}cpuset.cpus" >"$h$cgroup_root/cpuset.cpus"
      cat "${h}cpuset.mems" >"$h$cgroup_root/cpuset.mems"
    fi
  done
}

real_node_up() {
  mkdir -p "$state/kubelet"
  real_cgroups_up
  render "$here/k8s-cluster/node/kubelet.yaml" "$state/kubelet.yaml" < <(real_values)
  render "$here/k8s-cluster/node/kube-proxy.yaml" "$state/kube-proxy.yaml" < <(real_values)
  daemon kubelet nsenter --net="/run/netns/$netns" -- "$bin/kubelet" --config "$state/kubelet.yaml" \
    --kubeconfig "$state/node-kubeconfig.yaml" \
    --root-dir "$state/kubelet" --cert-dir "$state/kubelet/pki" --hostname-override "$node_name" \
    --node-ip "$node_ip" --node-labels "topology.kubernetes.io/zone=zone-a,blog-creator.dev/real-node=true"
  daemon kube-proxy nsenter --net="/run/netns/$netns" -- "$bin/kube-proxy" --config "$state/kube-proxy.yaml"
  wait_for 60 "node $node_name to register" "$kubectl" --kubeconfig "$kubeconfig" get node "$node_name"
  "$kubectl" --kubeconfig "$kubeconfig" wait --for=condition=Ready "node/$node_name" --timeout=120s >&2
  if [ "$with_network_policy" = true ]; then
    # NetworkPolicy enforcement: kube-router with only its firewall, rules in the node's
    # namespace; started after registration (it looks its node up by name).
    daemon kube-router nsenter --net="/run/netns/$netns" -- "$addons/kube-router" \
      --kubeconfig "$state/node-kubeconfig.yaml" --hostname-override "$node_name" \
      --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
      --enable-pod-egress=false --enable-ipv6=false --metrics-port=0 --health-port=20244 \
      --iptables-sync-period=30s
  fi
}

real_addons_up() {  # CoreDNS, a default StorageClass with static hostPath PVs
  local manifests="$state/addons.yaml" i
  render "$here/k8s-cluster/node/coredns.yaml" "$manifests" < <(real_values)
  echo "---" >>"$manifests"
  render "$here/k8s-cluster/node/metrics-server.yaml" "$manifests.metrics" < <(real_values)
  cat "$manifests.metrics" >>"$manifests"
  {
    echo "---"
    cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-hostpath
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
EOF
    for ((i = 1; i <= 6; i++)); do
      mkdir -p "$state/pv/pv$i"
      chmod 0777 "$state/pv/pv$i"
      cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: hostpath-pv$i
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local-hostpath
  hostPath: {path: $state/pv/pv$i, type: Directory}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$node_name]}
EOF
    done
  } >>"$manifests"
  "$kubectl" --kubeconfig "$kubeconfig" apply -f "$manifests" >&2
  "$kubectl" --kubeconfig "$kubeconfig" -n kube-system rollout status deployment/coredns --timeout=120s >&2
}

real_require() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok kwokctl kubelet kube-proxy; do
    [ -x "$bin/$b" ] || die "$bin/$b is missing: run 'scripts/k8s-cluster.sh build --real' first"
  done
  for b in pause.tar coredns.tar metrics-server.tar kube-router; do
    [ -f "$addons/$b" ] || die "$addons/$b is missing: run 'scripts/k8s-cluster.sh build --real' first"
  done
  real_check_host
}

start_failed() {  # EXIT trap of a start that did not finish: keep the logs, remove the rest
  local logs="/tmp/k8s-cluster-$name-logs"
  rm -rf "$logs" && cp -r "$state/logs" "$logs" 2>/dev/null && cp -r "$state/pod-logs" "$logs/pods" 2>/dev/null
  log "start --real failed: cluster removed; its logs are in $logs"
  stop_rollouts
  "$bin/kwokctl" delete cluster --name "$name" >/dev/null 2>&1
  real_stop "$name"
}

real_prometheus_up() {  # --with-prometheus: the operator (host process) and a Prometheus CR
  [ -x "$prometheus_addons/operator" ] || die "$prometheus_addons/operator is missing: run 'scripts/k8s-cluster.sh build --real --with-prometheus' first"
  local archive
  [ -f "$prometheus_addons/alertmanager.tar" ] || die "$prometheus_addons/alertmanager.tar is missing: run 'scripts/k8s-cluster.sh build --real --with-prometheus' first"
  for archive in "$prometheus_addons/prometheus.tar" "$prometheus_addons/prometheus-config-reloader.tar" "$prometheus_addons/alertmanager.tar"; do
    ctr --address "$state/containerd.sock" -n k8s.io images import --no-unpack "$archive" >/dev/null
  done
  # The operator's own CRDs (Prometheus, Alertmanager, ... and its ServiceMonitor/PrometheusRule).
  "$kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts -f "$prometheus_addons/crds" >/dev/null
  # Retried: `kubectl wait` on a CRD the API server has not given a status yet fails at once
  # (".status.conditions accessor error: <nil>") instead of waiting; seen on a loaded machine.
  wait_for 60 "the operator's CRDs to be established" "$kubectl" --kubeconfig "$kubeconfig" wait \
    --for condition=established --timeout=10s crd/prometheuses.monitoring.coreos.com crd/servicemonitors.monitoring.coreos.com
  # A host process like the rollouts controller; it has no --kubeconfig flag: the API server
  # address and the admin certificate of kwokctl's PKI instead.
  local pki="$KWOK_WORKDIR/clusters/$name/pki" server
  server="$(awk '/server:/ {print $2; exit}' "$kubeconfig")"
  daemon prometheus-operator "$prometheus_addons/operator" --apiserver "$server" \
    --ca-file "$pki/ca.crt" --cert-file "$pki/admin.crt" --key-file "$pki/admin.key" \
    --prometheus-config-reloader="$CONFIG_RELOADER_IMAGE" --web.listen-address="127.0.0.1:$(free_port)" \
    --log-level=info
  render "$here/k8s-cluster/node/prometheus.yaml" "$state/prometheus.yaml" < <(
    real_values
    printf 'PROMETHEUS_IMAGE=%s\nALERTMANAGER_IMAGE=%s\n' "$PROMETHEUS_IMAGE" "$ALERTMANAGER_IMAGE"
  )
  "$kubectl" --kubeconfig "$kubeconfig" apply -f "$state/prometheus.yaml" >&2
  wait_for 120 "the operator's Prometheus StatefulSet" "$kubectl" --kubeconfig "$kubeconfig" -n monitoring get statefulset prometheus-test
  "$kubectl" --kubeconfig "$kubeconfig" -n monitoring rollout status statefulset/prometheus-test --timeout=180s >&2
  wait_for 60 "the operator's Alertmanager StatefulSet" "$kubectl" --kubeconfig "$kubeconfig" -n monitoring get statefulset alertmanager-test
  "$kubectl" --kubeconfig "$kubeconfig" -n monitoring rollout status statefulset/alertmanager-test --timeout=180s >&2
}

cmd_start_real() {
  real_require
  local started=$SECONDS slot
  stop_rollouts
  "$bin/kwokctl" delete cluster --name "$name" >/dev/null 2>&1 || true
  real_stop "$name"
  slot="$(real_claim_slot "$name")"
  real_vars "$name" "$slot"
  kubeconfig="$KWOK_WORKDIR/clusters/$name/kubeconfig.yaml"
  mkdir -p "$state/logs" "$state/pids"
  echo "$slot" >"$state/slot"
  trap 'start_failed' EXIT
  real_check_cidrs
  real_save_sysctls
  real_network_up
  real_registry_up
  real_containerd_up
  real_control_plane_up
  real_node_up
  real_addons_up
  if [ "$with_prometheus" = true ]; then real_prometheus_up; fi
  if [ "$with_rollouts" = true ]; then start_rollouts "$kubeconfig"; fi
  trap - EXIT
  log "cluster '$name' with real node $node_name started in $((SECONDS - started)) s (node logs: $state/logs)"
  echo "KUBECONFIG=$kubeconfig"
  echo "REGISTRY=$registry"
  echo "REGISTRY_DOCKER_CONFIG=$state/docker-config"
}

state_pids() {  # this cluster's daemons: command line names its state dir, or a pid file of it
  local f pid exe
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
    tr '\0' ' ' 2>/dev/null <"$f" | grep -qF -- "$state/" && echo "$pid"
  done
  # Daemons whose arguments name only the control plane's files (the Prometheus Operator):
  # their pid file, trusted only while that pid still runs a binary of the cluster cache.
  for f in "$state"/pids/*.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || continue
    case "$exe" in "$cache_root"/*) echo "$pid" ;; esac
  done
  return 0
}

cgroup_pids() {  # processes in the kubelet's cgroups of this cluster (the pods' containers)
  find /sys/fs/cgroup/ -path "*/$cgroup_root/*" -name cgroup.procs -exec cat {} + 2>/dev/null
  find /sys/fs/cgroup/ -path "*/$cgroup_root/cgroup.procs" -exec cat {} + 2>/dev/null
  return 0
}

real_stop() {  # real_stop NAME: remove everything of a real cluster, also after a crash
  local stop_name=$1 slot_dir s
  [ -d "$REAL_STATE_ROOT/$stop_name" ] || grep -qlx "$stop_name" "$REAL_STATE_ROOT"/slots/*/name 2>/dev/null || return 0
  s="$(cat "$REAL_STATE_ROOT/$stop_name/slot" 2>/dev/null || true)"
  if [ -z "$s" ]; then
    slot_dir="$(grep -lx "$stop_name" "$REAL_STATE_ROOT"/slots/*/name 2>/dev/null | head -1)"
    s="$(basename "$(dirname "$slot_dir")" 2>/dev/null || true)"
  fi
  [ -n "$s" ] || s=0
  (
    set +e  # best effort: remove whatever is left
    real_vars "$stop_name" "$s"
    [ -f "$state/pids/kubelet.pid" ] && kill "$(cat "$state/pids/kubelet.pid")" 2>/dev/null
    local _
    for _ in 1 2 3; do  # the pods' containers, then every daemon of the cluster
      cgroup_pids | sort -u | xargs -r kill -9 2>/dev/null
      sleep 0.2
    done
    state_pids | xargs -r kill 2>/dev/null
    for _ in $(seq 1 20); do
      [ -z "$(state_pids)" ] && break
      sleep 0.25
    done
    state_pids | xargs -r kill -9 2>/dev/null
    # Mounts (pod volumes, container rootfs, pod network namespaces), deepest first.
    awk -v p="$state/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
    find /sys/fs/cgroup/ -depth -type d -path "*/$cgroup_root*" -exec rmdir {} \; 2>/dev/null
    if [ "$s" != 0 ]; then
      ip link del "$veth_host" 2>/dev/null  # the host routes into the namespace go with it
      ip netns del "$netns" 2>/dev/null
      rm -rf "$REAL_STATE_ROOT/slots/$s"
    fi
    rm -rf --one-file-system "$state"
    exit 0
  )
  real_restore_sysctls
  real_host_iptables_cleanup
  log "real node of '$stop_name' removed"
}
