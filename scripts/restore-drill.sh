#!/usr/bin/env bash
# Disaster-recovery drill for the backend's data (docs/reliability.md, "Faults and disaster
# recovery"). Two steps, run separately:
#
#   restore-drill.sh backup  --redis-url redis://HOST:PORT/0 [--sqlite PATH] --out DIR
#       BGSAVE, wait for it to finish, copy the RDB snapshot (and the SQLite file holding the
#       search index when Elasticsearch is not used: online backup API, consistent copy) to DIR.
#   restore-drill.sh restore --from DIR --dir NEW_DATA_DIR --port PORT [--sqlite-to PATH]
#       Start a fresh redis-server (daemonized, pidfile NEW_DATA_DIR/redis.pid) from the copied
#       RDB, check it loaded keys, then turn AOF on (CONFIG SET appendonly yes rewrites the AOF
#       from the loaded data); copy the SQLite file to --sqlite-to. Prints REDIS_URL=... on success.
#
# Point a fresh backend at the printed REDIS_URL (and DATABASE_PATH=--sqlite-to). Stop the
# restored server with: redis-cli -p PORT shutdown (or kill "$(cat NEW_DATA_DIR/redis.pid)").
# Needs redis-server, redis-cli (Debian: redis-server, redis-tools) and python3 (for SQLite).
set -euo pipefail

die() { echo "restore-drill: $*" >&2; exit 2; }
need() { command -v "$1" >/dev/null || die "$1 not found: $2"; }
usage() { sed -n '2,14p' "$0" >&2; exit 2; }

sqlite_copy() {  # consistent copy of a live SQLite file (WAL included) via the backup API
  python3 - "$1" "$2" <<'PY'
import sqlite3, sys
source, target = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
print(f"sqlite: {sys.argv[1]} -> {sys.argv[2]} ({target.execute('pragma integrity_check').fetchone()[0]})")
PY
}

backup() {
  local url="" sqlite="" out=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --redis-url) url="$2"; shift 2 ;; --sqlite) sqlite="$2"; shift 2 ;; --out) out="$2"; shift 2 ;;
      *) die "backup: unknown option $1 (see --help)" ;;
    esac
  done
  [ -n "$url" ] || die "backup: --redis-url is required (the REDIS_URL of the backend)"
  [ -n "$out" ] || die "backup: --out DIR is required"
  need redis-cli "apt-get install redis-tools"
  mkdir -p "$out"
  local saves dir file
  persistence() { redis-cli -u "$url" INFO persistence | tr -d '\r' | sed -n "s/^$1://p"; }
  saves=$(persistence rdb_saves)
  # SCHEDULE: if an AOF rewrite runs, the snapshot starts right after it instead of failing.
  redis-cli -u "$url" BGSAVE SCHEDULE >/dev/null
  for _ in $(seq 1 600); do  # up to 60 s
    [ "$(persistence rdb_saves)" -gt "$saves" ] && [ "$(persistence rdb_bgsave_in_progress)" = 0 ] && break
    sleep 0.1
  done
  [ "$(persistence rdb_saves)" -gt "$saves" ] || die "backup: BGSAVE did not finish within 60 s"
  [ "$(persistence rdb_last_bgsave_status)" = ok ] || die "backup: BGSAVE failed (see the Redis log)"
  dir=$(redis-cli -u "$url" CONFIG GET dir | sed -n 2p)
  file=$(redis-cli -u "$url" CONFIG GET dbfilename | sed -n 2p)
  # The copy runs where Redis writes its files (same host/volume); elsewhere, copy
  # "$dir/$file" off the server with the tooling of the platform (kubectl cp, volume snapshot).
  cp "$dir/$file" "$out/dump.rdb"
  redis-check-rdb "$out/dump.rdb" >/dev/null 2>&1 || die "backup: $out/dump.rdb fails redis-check-rdb"
  echo "redis: $dir/$file -> $out/dump.rdb ($(stat -c %s "$out/dump.rdb") bytes)"
  if [ -n "$sqlite" ]; then
    [ -f "$sqlite" ] || die "backup: --sqlite $sqlite does not exist (DATABASE_PATH of the backend)"
    sqlite_copy "$sqlite" "$out/blog.sqlite3"
  fi
}

restore() {
  local from="" dir="" port="" sqlite_to=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --from) from="$2"; shift 2 ;; --dir) dir="$2"; shift 2 ;; --port) port="$2"; shift 2 ;;
      --sqlite-to) sqlite_to="$2"; shift 2 ;;
      *) die "restore: unknown option $1 (see --help)" ;;
    esac
  done
  [ -f "$from/dump.rdb" ] || die "restore: --from DIR must hold dump.rdb (made by the backup step)"
  [ -n "$dir" ] || die "restore: --dir NEW_DATA_DIR is required (an empty directory for the new server)"
  [[ "$port" =~ ^[0-9]+$ ]] || die "restore: --port must be a free TCP port number"
  need redis-server "apt-get install redis-server"
  need redis-cli "apt-get install redis-tools"
  mkdir -p "$dir"
  [ -z "$(ls -A "$dir")" ] || die "restore: --dir $dir is not empty (refusing to overwrite data)"
  cp "$from/dump.rdb" "$dir/dump.rdb"
  # AOF off at start: with AOF on and no AOF file, Redis would start empty and ignore the RDB.
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --dbfilename dump.rdb \
    --appendonly no --save "" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 1 300); do
    redis-cli -p "$port" PING 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -p "$port" PING | grep -q PONG || die "restore: redis-server did not start (see $dir/redis.log)"
  local keys info
  keys=$(redis-cli -p "$port" DBSIZE)
  [ "$keys" -gt 0 ] || die "restore: the restored server holds no keys (empty or unreadable dump.rdb)"
  redis-cli -p "$port" CONFIG SET appendfsync everysec >/dev/null
  redis-cli -p "$port" CONFIG SET appendonly yes >/dev/null
  for _ in $(seq 1 300); do
    info=$(redis-cli -p "$port" INFO persistence | tr -d '\r')
    grep -q '^aof_enabled:1' <<<"$info" && grep -q '^aof_rewrite_in_progress:0' <<<"$info" &&
      grep -q '^aof_rewrite_scheduled:0' <<<"$info" && break
    sleep 0.1
  done
  echo "redis: restored $keys keys into $dir (AOF on)"
  if [ -n "$sqlite_to" ]; then
    [ -f "$from/blog.sqlite3" ] || die "restore: --sqlite-to given but $from/blog.sqlite3 is missing"
    mkdir -p "$(dirname "$sqlite_to")"
    sqlite_copy "$from/blog.sqlite3" "$sqlite_to"
  fi
  echo "REDIS_URL=redis://127.0.0.1:$port/0"
}

case "${1:-}" in
  backup) shift; backup "$@" ;;
  restore) shift; restore "$@" ;;
  -h|--help|"") usage ;;
  *) die "unknown command $1: use backup or restore" ;;
esac
