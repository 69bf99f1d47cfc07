"""Start the runtime images the way the k8s chart runs them: read-only root, tmpfs /tmp."""

from __future__ import annotations

import secrets

from images_docker import Container, docker, http_get, run_detached, wait_until

# The chart mounts a writable volume at the SQLite directory; a tmpfs stands in for it here.
BACKEND_DATA = "/var/lib/blog-creator"
READ_ONLY = ["--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m"]


def jwt_secret() -> str:
    return secrets.token_urlsafe(48)


def host_port(c: Container, port: int) -> int:
    out = docker("port", c.cid, f"{port}/tcp").stdout.strip().splitlines()[0]
    return int(out.rsplit(":", 1)[1])


def start_backend(image: str, network: str, alias: str = "backend", *extra: str) -> tuple[Container, str]:
    c = run_detached(
        image, *READ_ONLY, "--tmpfs", f"{BACKEND_DATA}:rw,uid=10001,gid=10001,mode=0700",
        "--network", network, "--network-alias", alias, "-p", "127.0.0.1::8000",
        "-e", "APP_ENV=production", "-e", f"JWT_SECRET={jwt_secret()}",
        "-e", "RATE_LIMIT_ENABLED=false", *extra,
    )
    url = f"http://127.0.0.1:{host_port(c, 8000)}"
    wait_until(lambda: http_get(url + "/healthz")[0] == 200, 90, f"backend /healthz ({c.logs()[-2000:]})")
    return c, url


def start_frontend(image: str, network: str, api_url: str = "http://backend:8000") -> tuple[Container, str]:
    c = run_detached(image, *READ_ONLY, "--network", network, "-p", "127.0.0.1::3000", "-e", f"API_URL={api_url}")
    url = f"http://127.0.0.1:{host_port(c, 3000)}"
    wait_until(lambda: http_get(url + "/api/health")[0] == 200, 90, f"frontend /api/health ({c.logs()[-2000:]})")
    return c, url
