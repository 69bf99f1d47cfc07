#!/usr/bin/env bash
# Run one real Elasticsearch node on 127.0.0.1 from artifacts published on Maven Central.
#
#   scripts/elasticsearch-local.sh setup                    resolve + assemble the cache only
#   scripts/elasticsearch-local.sh start [--port N] [--dir D]
#        starts a node (port 0/omitted = a free port chosen by the node itself), waits until the
#        cluster is healthy and prints ELASTICSEARCH_URL=http://127.0.0.1:PORT on stdout.
#   scripts/elasticsearch-local.sh stop  [--dir D]          stops the node started with that dir
#   scripts/elasticsearch-local.sh paths                    setup, then prints ES_VERSION, ES_HOME,
#        ES_CLASSES (the LocalNode launcher) and ES_JAVA_HOME (the JDK used) as NAME=value lines
#
# Environment: ES_VERSION (default 9.5.3), ES_JAVA_HOME (a JDK >= 21; default: Temurin 25 if
# present, else `java` on PATH), ES_HEAP (default 512m), ES_START_TIMEOUT seconds (default 120),
# ES_LOCAL_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/blog-creator/elasticsearch).
#
# Artifacts land in the cache, never in the repository. The node runs unmodified Elasticsearch
# server code plus its transport-netty4 module (HTTP); see scripts/elasticsearch/README.md for
# what the Maven-published build does not include.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUPPORT_DIR="$SCRIPT_DIR/elasticsearch"
ES_VERSION="${ES_VERSION:-9.5.3}"
ES_HEAP="${ES_HEAP:-512m}"
ES_START_TIMEOUT="${ES_START_TIMEOUT:-120}"
CACHE_ROOT="${ES_LOCAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/blog-creator/elasticsearch}"
VERSION_DIR="$CACHE_ROOT/$ES_VERSION"
ES_HOME_DIR="$VERSION_DIR/home"
DEFAULT_RUN_DIR="$CACHE_ROOT/run/default"

log() { echo "elasticsearch-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

require_command() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed; $2"
}

java_major_version() {
    "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'
}

find_java() {
    local candidate
    for candidate in "${ES_JAVA_HOME:+$ES_JAVA_HOME/bin/java}" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java "$(command -v java || true)"; do
        [[ -n "$candidate" && -x "$candidate" ]] || continue
        if (( $(java_major_version "$candidate") >= 21 )); then
            echo "$candidate"
            return
        fi
    done
    die "Elasticsearch $ES_VERSION needs a JDK >= 21; set ES_JAVA_HOME to one (e.g. /usr/lib/jvm/temurin-25-jdk-amd64)"
}

# Resolve the jars with Maven and lay them out like a distribution: lib/ for the server,
# modules/transport-netty4/ for the HTTP module (with its plugin descriptor), plugins/ empty.
setup() {
    local java javac ready="$VERSION_DIR/.ready" source_hash
    java="$(find_java)"
    javac="$(dirname "$java")/javac"
    [[ -x "$javac" ]] || die "no javac next to $java; ES_JAVA_HOME must point to a JDK, not a JRE"
    # contents only: the same files reached by another path (relative, absolute) are the same cache
    source_hash="$(cat "$SUPPORT_DIR/LocalNode.java" "$SUPPORT_DIR/pom.xml" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
    if [[ -f "$ready" && "$(cat "$ready")" == "$source_hash" ]]; then
        return
    fi
    require_command mvn "install it with: apt-get install -y maven"
    log "resolving Elasticsearch $ES_VERSION from Maven Central into $VERSION_DIR"
    rm -rf "$VERSION_DIR"
    mkdir -p "$VERSION_DIR/jars" "$ES_HOME_DIR/lib" "$ES_HOME_DIR/modules/transport-netty4" \
        "$ES_HOME_DIR/plugins" "$VERSION_DIR/classes"
    if ! mvn -B -ntp -f "$SUPPORT_DIR/pom.xml" -Des.version="$ES_VERSION" \
        -Dmaven.repo.local="$CACHE_ROOT/m2" \
        dependency:copy-dependencies -DoutputDirectory="$VERSION_DIR/jars" > "$VERSION_DIR/maven.log" 2>&1; then
        tail -n 30 "$VERSION_DIR/maven.log" >&2
        die "Maven could not resolve org.elasticsearch:elasticsearch:$ES_VERSION (log: $VERSION_DIR/maven.log)"
    fi

    local jar module_dir="$ES_HOME_DIR/modules/transport-netty4"
    for jar in "$VERSION_DIR"/jars/*.jar; do
        case "$(basename "$jar")" in
            netty-*|transport-netty4-*|elasticsearch-ssl-config-*) mv "$jar" "$module_dir/" ;;
            *) mv "$jar" "$ES_HOME_DIR/lib/" ;;
        esac
    done
    rmdir "$VERSION_DIR/jars"
    local descriptor=META-INF/es-plugins/transport-netty4/plugin-descriptor.properties
    (cd "$VERSION_DIR" && "$(dirname "$java")/jar" xf "$module_dir/transport-netty4-$ES_VERSION.jar" "$descriptor")
    mv "$VERSION_DIR/$descriptor" "$module_dir/plugin-descriptor.properties" 2>/dev/null || true
    rm -rf "$VERSION_DIR/META-INF"
    [[ -s "$module_dir/plugin-descriptor.properties" ]] \
        || die "transport-netty4-$ES_VERSION.jar has no plugin descriptor; this version is not supported"

    "$javac" -nowarn --module-path "$ES_HOME_DIR/lib" --add-modules ALL-MODULE-PATH \
        -d "$VERSION_DIR/classes" "$SUPPORT_DIR/LocalNode.java" >&2
    echo "$source_hash" > "$ready"
    log "cache ready"
}

write_config() {
    local run_dir="$1" port="$2"
    mkdir -p "$run_dir/config" "$run_dir/data" "$run_dir/logs" "$run_dir/tmp"
    cat > "$run_dir/config/elasticsearch.yml" <<EOF
cluster.name: blog-creator-local
node.name: local-node
path.data: $run_dir/data
path.logs: $run_dir/logs
network.host: 127.0.0.1
http.port: $port
transport.port: 0
discovery.type: single-node
# writes logs/http.ports, which is how a free port (0) is read back
node.portsfile: true
# a nearly full developer disk must not turn indices read-only
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    cp "$SUPPORT_DIR/log4j2.properties" "$run_dir/config/log4j2.properties"
}

is_running() {
    local pid_file="$1/elasticsearch.pid"
    [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

start() {
    local port=0 run_dir="$DEFAULT_RUN_DIR"
    while (($#)); do
        case "$1" in
            --port) port="${2:?--port needs a number}"; shift 2 ;;
            --dir) run_dir="${2:?--dir needs a directory}"; shift 2 ;;
            *) die "unknown option '$1' for start (use --port N, --dir DIR)" ;;
        esac
    done
    if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || ((10#$port > 65535)); then
        die "--port must be 0..65535, got '$port'"
    fi
    port=$((10#$port))
    require_command curl "install it with: apt-get install -y curl"
    mkdir -p "$run_dir"
    run_dir="$(cd "$run_dir" && pwd)"
    is_running "$run_dir" && die "a node already runs for $run_dir (pid $(cat "$run_dir/elasticsearch.pid")); run: $0 stop --dir $run_dir"

    setup
    local java
    java="$(find_java)"
    write_config "$run_dir" "$port"
    rm -f "$run_dir/logs/http.ports"

    local started_at=$SECONDS
    # setsid: the node outlives this script and gets no SIGINT/SIGHUP meant for its caller.
    setsid "$java" -Xms"$ES_HEAP" -Xmx"$ES_HEAP" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
        -Djava.io.tmpdir="$run_dir/tmp" -Des.path.home="$ES_HOME_DIR" \
        -Dlog4j2.formatMsgNoLookups=true -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
        -Dfile.encoding=UTF-8 \
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
        -Dio.netty.recycler.maxCapacityPerThread=0 \
        --add-modules jdk.incubator.vector \
        --enable-native-access=org.apache.lucene.core,org.elasticsearch.nativeaccess \
        --module-path "$ES_HOME_DIR/lib" --add-modules ALL-MODULE-PATH \
        -cp "$VERSION_DIR/classes" LocalNode "$ES_HOME_DIR" "$run_dir/config" \
        > "$run_dir/logs/console.log" 2>&1 < /dev/null &
    local pid=$!
    echo "$pid" > "$run_dir/elasticsearch.pid"

    local address=""
    while ((SECONDS - started_at < ES_START_TIMEOUT)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$run_dir/logs/console.log" >&2
            rm -f "$run_dir/elasticsearch.pid"
            die "the node exited during startup (log: $run_dir/logs/console.log)"
        fi
        if [[ -z "$address" && -s "$run_dir/logs/http.ports" ]]; then
            address="$(head -n1 "$run_dir/logs/http.ports")"
        fi
        if [[ -n "$address" ]] && curl -fsS -o /dev/null --max-time 5 \
            "http://$address/_cluster/health?wait_for_status=yellow&timeout=2s"; then
            log "node up in $((SECONDS - started_at))s (pid $pid, log $run_dir/logs/console.log)"
            echo "ELASTICSEARCH_URL=http://$address"
            return
        fi
        sleep 0.5
    done
    stop --dir "$run_dir"
    die "the node was not healthy after ${ES_START_TIMEOUT}s (log: $run_dir/logs/console.log)"
}

stop() {
    local run_dir="$DEFAULT_RUN_DIR"
    while (($#)); do
        case "$1" in
            --dir) run_dir="${2:?--dir needs a directory}"; shift 2 ;;
            *) die "unknown option '$1' for stop (use --dir DIR)" ;;
        esac
    done
    local pid_file="$run_dir/elasticsearch.pid"
    if ! is_running "$run_dir"; then
        rm -f "$pid_file"
        log "no node running for $run_dir"
        return
    fi
    local pid waited=0
    pid="$(cat "$pid_file")"
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && ((waited < 60)); do
        sleep 0.5
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "node $pid did not stop in 30s; killing it"
        kill -KILL "$pid"
    fi
    rm -f "$pid_file"
    log "stopped node $pid"
}

# What an image build needs (tests/cluster/real/elasticsearch-image.sh): the assembled node and
# the JDK its launcher was compiled with.
paths() {
    setup
    local java
    java="$(find_java)"
    echo "ES_VERSION=$ES_VERSION"
    echo "ES_HOME=$ES_HOME_DIR"
    echo "ES_CLASSES=$VERSION_DIR/classes"
    echo "ES_JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$java")")")"
}

case "${1:-}" in
    setup) shift; setup "$@" ;;
    paths) shift; paths "$@" ;;
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) usage ;;
esac
