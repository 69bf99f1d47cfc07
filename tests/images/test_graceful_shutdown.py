"""Graceful shutdown: two backend replicas sharing Redis behind nginx (as a load balancer runs
them) and a steady stream of requests; `docker stop` of one replica loses no request, and a
rolling replacement of both replicas (new one in, old one drained out, as a Deployment with
maxSurge does) loses none either.

Most requests are POST /auth/login (argon2: tens of ms each, so some are in flight when SIGTERM
arrives). nginx does not retry a POST once it was sent, so a replica that dropped in-flight
requests would show up as failures; a refused connection (listener closed) is retried.

The rolling test does what Kubernetes does before it sends SIGTERM: the replica leaves the
balancer first (endpoint removal; here an nginx reload that has taken effect, i.e. the old nginx
workers, which keep the old upstream list, have exited), and a new replica joins only once
/readyz answers 200. `nginx -s reload` only signals the master: stopping the old replica right
after it raced the old workers, which still sent it new requests; uvicorn resets a connection
it has not read yet when it closes its listener, and nginx does not retry such a POST (502)."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import pytest
from images_docker import (
    Container,
    docker,
    free_port,
    http_get,
    http_json,
    run_detached,
    wait_until,
)
from images_stack import start_backend

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log notice;
events {{ worker_connections 512; }}
http {{
  access_log {tmp}/access.log;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream backends {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://backends;
      # What a load balancer does with a draining replica: retry idempotent requests elsewhere.
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


def nginx_binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not path:
        pytest.fail("nginx is not installed: apt-get install -y nginx-light", pytrace=False)
    return path


def nginx_conf(tmp: Path, ips: list[str], port: int) -> str:
    servers = "\n".join(f"    server {ip}:8000 max_fails=1 fail_timeout=30s;" for ip in ips)
    return NGINX_CONF.format(tmp=tmp, servers=servers, port=port)


def nginx_workers(master: int) -> set[int]:
    """PIDs of the nginx master's child processes (its workers), read from /proc."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:  # the process exited meanwhile
            continue
        if int(ppid) == master and state != "Z":
            children.add(int(stat.parent.name))
    return children


def nginx_problems(error_log: Path, limit: int = 20) -> str:
    """The last error/warn lines of nginx's error log (why a request failed), for messages."""
    if not error_log.exists():
        return "(no error.log)"
    lines = [ln for ln in error_log.read_text(errors="replace").splitlines()
             if any(f"[{level}]" in ln for level in ("emerg", "alert", "crit", "error", "warn"))]
    return "\n".join(lines[-limit:]) or "(no errors or warnings)"


def container_ip(c: Container) -> str:
    nets = c.inspect()["NetworkSettings"]["Networks"]
    return next(iter(nets.values()))["IPAddress"]


@pytest.fixture
def replicas_behind_nginx(backend_runtime: str, redis_image: str, tmp_path: Path) -> Iterator[dict]:
    net = f"blogimg-gs-{uuid.uuid4().hex[:8]}"
    docker("network", "create", "--label", "blog-creator-test=1", net)
    started: list[Container] = []
    nginx = None
    try:
        started.append(run_detached(redis_image, "--network", net, "--network-alias", "redis"))
        shared = ("-e", "REDIS_URL=redis://redis:6379/0", "-e", "JWT_SECRET=" + "s" * 48)
        a, _ = start_backend(backend_runtime, net, "backend-a", *shared)
        started.append(a)
        b, _ = start_backend(backend_runtime, net, "backend-b", *shared)
        started.append(b)
        port = free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(nginx_conf(tmp_path, [container_ip(a), container_ip(b)], port))
        nginx = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(tmp_path)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        master = nginx.pid  # daemon off: the process we started is the master
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_get(url + "/healthz")[0] == 200, 20, "nginx in front of the replicas")
        status, body = http_json("POST", url + "/api/v1/auth/register", CREDENTIALS | {"full_name": "Load"})
        assert status == 201, body
        error_log = tmp_path / "error.log"

        def start_replica(alias: str) -> Container:
            """A new replica, returned once it is ready (/readyz 200), as a Deployment waits."""
            replica, replica_url = start_backend(backend_runtime, net, alias, *shared)
            started.append(replica)
            wait_until(lambda: http_get(replica_url + "/readyz")[0] == 200, 30, f"{alias} /readyz")
            return replica

        def route_to(ips: list[str]) -> None:
            """Rewrite the upstream list, reload nginx and return once only `ips` get requests.

            The old workers finish their in-flight requests (to any replica of the old list), then
            exit; until they have, a replica left out of `ips` may still get new requests."""
            old_workers = nginx_workers(master)
            conf.write_text(nginx_conf(tmp_path, ips, port))
            subprocess.run([nginx_binary(), "-c", str(conf), "-p", str(tmp_path), "-s", "reload"],
                           check=True, capture_output=True, timeout=30)
            wait_until(lambda: (workers := nginx_workers(master)) and not workers & old_workers, 30,
                       lambda: f"the nginx reload to take effect (old workers {sorted(old_workers)} exited); "
                               f"error.log:\n{nginx_problems(error_log)}", interval=0.1)

        yield {"a": a, "b": b, "ip_a": container_ip(a), "ip_b": container_ip(b), "port": port,
               "error_log": error_log, "start_replica": start_replica, "route_to": route_to}
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for c in started:
            c.remove()
        docker("network", "rm", net, check=False)


CREDENTIALS = {"email": "load@example.com", "password": "graceful shutdown 42"}
LOGIN_BODY = json.dumps(CREDENTIALS)


class Load:
    """Workers sending POST /api/v1/auth/login (and one GET /readyz) until stopped."""

    def __init__(self, port: int, workers: int = 4, keepalive: bool = True) -> None:
        self.port, self.stop = port, threading.Event()
        # A reload of nginx closes its idle keep-alive connections, which a client without
        # retries would count as failures that say nothing about the replicas: the rolling
        # test opens a connection per request.
        self.headers = {} if keepalive else {"Connection": "close"}
        self.lock = threading.Lock()
        self.ok: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i == 0,), daemon=True) for i in range(workers)]

    def _run(self, probe: bool) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop.is_set():
            try:
                if probe:
                    conn.request("GET", "/readyz", headers=self.headers)
                else:
                    conn.request("POST", "/api/v1/auth/login", LOGIN_BODY,
                                 {"Content-Type": "application/json", **self.headers})
                resp = conn.getresponse()
                resp.read()
                with self.lock:
                    if resp.status == 200:
                        self.ok.append((time.monotonic(), resp.getheader("X-Upstream", "")))
                    else:
                        self.failures.append(f"HTTP {resp.status}")
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.close()

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test_stopping_a_replica_loses_no_request(replicas_behind_nginx: dict) -> None:
    env = replicas_behind_nginx
    with Load(env["port"]) as load:
        time.sleep(3)
        stop_started = time.monotonic()
        docker("stop", "-t", "30", env["a"].cid)
        stopped = time.monotonic()
        time.sleep(3)
    state = env["a"].inspect()["State"]
    served = Counter(upstream.split(":")[0] for _, upstream in load.ok)
    assert load.failures == [], (f"{len(load.failures)} failed requests: {load.failures[:5]}; "
                                 f"nginx error.log:\n{nginx_problems(env['error_log'])}")
    assert len(load.ok) > 30, f"too little traffic to judge: {len(load.ok)} requests"
    assert served[env["ip_a"]] > 0 and served[env["ip_b"]] > 0, served
    # After the stop, every request went to the surviving replica.
    after = [u for t, u in load.ok if t > stopped + 0.5]
    assert after and all(u.startswith(env["ip_b"]) for u in after)
    # The replica exited on SIGTERM by itself (exit code 0), well before Docker's SIGKILL.
    assert state["ExitCode"] == 0 and not state["OOMKilled"], state
    assert stopped - stop_started < 25


def test_rolling_replacement_of_both_replicas_loses_no_request(replicas_behind_nginx: dict) -> None:
    env = replicas_behind_nginx
    live = {"a": env["a"], "b": env["b"]}
    with Load(env["port"], keepalive=False) as load:
        time.sleep(2)
        for name in ("a", "b"):
            old = live[name]
            new = env["start_replica"](f"backend-{name}-next")
            others = [container_ip(c) for c in live.values() if c is not old]
            env["route_to"]([*others, container_ip(old), container_ip(new)])  # surge: new one in
            since = time.monotonic()
            wait_until(lambda: any(t > since and u.startswith(container_ip(new)) for t, u in load.ok),  # noqa: B023
                       20, f"traffic on the new replica {name}")
            env["route_to"]([*others, container_ip(new)])  # old one out of the balancer...
            docker("stop", "-t", "30", old.cid)  # ...then drained and stopped
            live[name] = new
        replaced = time.monotonic()
        time.sleep(2)
    assert load.failures == [], (f"{len(load.failures)} failed requests: {load.failures[:5]}; "
                                 f"nginx error.log:\n{nginx_problems(env['error_log'])}")
    new_ips = {container_ip(c) for c in live.values()}
    after = {u.split(":")[0] for t, u in load.ok if t > replaced}
    assert after and after <= new_ips, (after, new_ips)
