"""Load benchmark of the Blog Creator stack: start it, seed it, run Locust, print figures.

Usage (see README.md): python bench/load/run.py [--mode docker|host] [--duration 60]
    [--profiles normal=50,peak=300]
Run with a Python that has locust and psutil (bench/load/run.sh makes one).
Goals: normal p95 < 200 ms and 0 errors; peak p95 < 2 s and < 0.1 % errors.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
IMAGES = {
    "backend": os.environ.get("BACKEND_IMAGE", "blog-creator-test/backend:runtime"),
    "frontend": os.environ.get("FRONTEND_IMAGE", "blog-creator-test/frontend:runtime"),
    "redis": os.environ.get("REDIS_IMAGE", "local/redis:7"),
}
GOALS = {"normal": (200.0, 0.0), "peak": (2000.0, 0.1)}  # p95 ms, error %
SEED_TEXT = (
    "A deploy pipeline builds a container, runs the tests, scans the image and ships it. "
    "Latency under load depends on redis round trips, search over the chunk index and the "
    "security of every draft. "
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {url}")


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


class DockerStack:
    """The runtime images, run as the chart runs them (read-only root), plus Redis."""

    name = "docker"

    def __init__(self) -> None:
        self.tag = f"bench-{secrets.token_hex(3)}"
        self.containers: dict[str, str] = {}

    def start(self) -> tuple[str, str]:
        docker("network", "create", self.tag)
        common = ["run", "-d", "--network", self.tag, "--read-only", "--tmpfs", "/tmp:rw,size=64m"]
        self.containers["redis"] = docker(
            *common,
            "--name",
            f"{self.tag}-redis",
            "--network-alias",
            "redis",
            "--tmpfs",
            "/data:rw,size=512m,uid=999,gid=999",
            IMAGES["redis"],
            "redis-server",
            "--protected-mode",
            "no",
            "--appendonly",
            "yes",
            "--dir",
            "/data",
        )
        self.containers["backend"] = docker(
            *common,
            "--name",
            f"{self.tag}-backend",
            "--network-alias",
            "backend",
            "-p",
            "127.0.0.1::8000",
            "--tmpfs",
            "/var/lib/blog-creator:rw,uid=10001,gid=10001,mode=0700",
            "-e",
            "APP_ENV=production",
            "-e",
            "JWT_SECRET",
            "-e",
            "REDIS_URL=redis://redis:6379/0",
            "-e",
            "RATE_LIMIT_ENABLED=false",
            "-e",
            "LOG_LEVEL=WARNING",
            IMAGES["backend"],
        )
        self.containers["frontend"] = docker(
            *common,
            "--name",
            f"{self.tag}-frontend",
            "-p",
            "127.0.0.1::3000",
            "-e",
            "API_URL=http://backend:8000",
            IMAGES["frontend"],
        )
        backend = f"http://{docker('port', self.containers['backend'], '8000/tcp').splitlines()[0]}"
        frontend = (
            f"http://{docker('port', self.containers['frontend'], '3000/tcp').splitlines()[0]}"
        )
        try:
            wait_http(backend + "/readyz")
            wait_http(frontend + "/api/health")
        except RuntimeError:
            for name, cid in self.containers.items():
                logs = subprocess.run(
                    ["docker", "logs", "--tail", "20", cid],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                print(f"--- {name}\n{logs.stdout}{logs.stderr}", file=sys.stderr)
            raise
        return backend, frontend

    def sample(self) -> dict[str, tuple[float, float]]:
        out = docker("stats", "--no-stream", "--format", "{{json .}}", *self.containers.values())
        usage = {}
        for line in out.splitlines():
            row = json.loads(line)
            name = row["Name"].removeprefix(f"{self.tag}-")
            mem = row["MemUsage"].split("/")[0].strip()
            usage[name] = (float(row["CPUPerc"].rstrip("%")), to_mib(mem))
        return usage

    def stop(self) -> None:
        for cid in self.containers.values():
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", self.tag], capture_output=True, check=False)


class HostStack:
    """Host processes: redis-server and uvicorn from backend/.venv (no frontend)."""

    name = "host"

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> tuple[str, str]:
        redis_port, backend_port = free_port(), free_port()
        self.processes["redis"] = subprocess.Popen(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.tmp),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
        env = dict(
            os.environ,
            APP_ENV="production",
            REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            DATABASE_PATH=str(self.tmp / "blog.sqlite3"),
            RATE_LIMIT_ENABLED="false",
            LOG_LEVEL="WARNING",
        )
        self.processes["backend"] = subprocess.Popen(
            [
                str(ROOT / "backend/.venv/bin/python"),
                "-m",
                "uvicorn",
                "app.main:app",
                "--port",
                str(backend_port),
                "--no-access-log",
            ],
            cwd=ROOT / "backend",
            env=env,
            stdout=subprocess.DEVNULL,
        )
        backend = f"http://127.0.0.1:{backend_port}"
        wait_http(backend + "/readyz")
        for proc in self.processes.values():
            psutil.Process(proc.pid).cpu_percent()
        return backend, ""

    def sample(self) -> dict[str, tuple[float, float]]:
        usage = {}
        for name, proc in self.processes.items():
            p = psutil.Process(proc.pid)
            usage[name] = (p.cpu_percent(), p.memory_info().rss / 2**20)
        return usage

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.terminate()
            proc.wait(15)
        shutil.rmtree(self.tmp, ignore_errors=True)


def to_mib(text: str) -> float:
    units = {
        "B": 1 / 2**20,
        "KiB": 1 / 1024,
        "MiB": 1,
        "GiB": 1024,
        "kB": 1 / 1024,
        "MB": 1,
        "GB": 1024,
    }
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def seed(backend: str, accounts: int, documents: int) -> list[dict]:
    seeded = []
    session = requests.Session()
    for n in range(accounts):
        email, password = f"load-{n}-{secrets.token_hex(3)}@example.com", secrets.token_urlsafe(12)
        response = session.post(
            f"{backend}/api/v1/auth/register",
            json={"email": email, "password": password, "full_name": f"Load {n}"},
        )
        response.raise_for_status()
        token = session.post(
            f"{backend}/api/v1/auth/login", json={"email": email, "password": password}
        ).json()["access_token"]
        ids = []
        for d in range(documents):
            body = f"# Notes {n}.{d}\n\n" + SEED_TEXT * 40
            response = session.post(
                f"{backend}/api/v1/documents",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": (f"notes-{d}.md", body.encode(), "text/markdown")},
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        seeded.append({"email": email, "password": password, "documents": ids})
    return seeded


class Sampler(threading.Thread):
    def __init__(self, stack) -> None:
        super().__init__(daemon=True)
        self.stack, self.samples, self.done = stack, [], threading.Event()

    def run(self) -> None:
        while not self.done.wait(2):
            try:
                self.samples.append(self.stack.sample())
            except (subprocess.CalledProcessError, psutil.Error, ValueError) as error:
                # A sample lost to a busy engine does not void the run.
                print(f"resource sample skipped: {error}", file=sys.stderr)

    def summary(self) -> dict[str, dict[str, float]]:
        names = {n for s in self.samples for n in s}
        result = {}
        for name in sorted(names):
            cpu = [s[name][0] for s in self.samples if name in s]
            mem = [s[name][1] for s in self.samples if name in s]
            result[name] = {
                "cpu_avg": sum(cpu) / len(cpu),
                "cpu_max": max(cpu),
                "mem_max_mib": max(mem),
            }
        return result


def run_profile(
    name: str, users: int, duration: int, env: dict[str, str], out: Path, stack
) -> dict:
    prefix = out / name
    sampler = Sampler(stack)
    sampler.start()
    started = time.monotonic()
    with open(f"{prefix}.log", "w") as log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(max(10, users // 10)),
                "-t",
                f"{duration}s",
                "--csv",
                str(prefix),
                "--only-summary",
                "--stop-timeout",
                "10",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    sampler.done.set()
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "users": users,
        "seconds": time.monotonic() - started,
        "rows": rows,
        "usage": sampler.summary(),
    }


def report(name: str, result: dict, stack_name: str) -> str:
    lines = [
        f"### {name}: {result['users']} users, {stack_name} stack",
        "",
        "| endpoint | requests | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    total = None
    for row in result["rows"]:
        if row["Name"] == "Aggregated":
            total = row
            continue
        lines.append(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | "
            f"{row['50%']} | {row['95%']} | {row['99%']} |"
        )
    assert total is not None, "locust wrote no aggregated row"
    requests_, failures = int(total["Request Count"]), int(total["Failure Count"])
    error_pct = 100 * failures / requests_ if requests_ else 100.0
    p95_goal, error_goal = GOALS.get(name, (float("inf"), 100.0))
    met = float(total["95%"]) < p95_goal and (
        error_pct <= error_goal if error_goal else failures == 0
    )
    lines += [
        f"| **all** | {requests_} | {failures} | {total['50%']} | {total['95%']} | {total['99%']} |",
        "",
        (
            f"Throughput {float(total['Requests/s']):.1f} req/s, errors {error_pct:.3f} %; goal p95 < {p95_goal:.0f} ms, "
            f"errors {'0' if not error_goal else f'< {error_goal} %'}: **{'met' if met else 'MISSED'}**."
        ),
        "",
        "| process | CPU avg % | CPU max % | memory max MiB |",
        "|---|---:|---:|---:|",
    ]
    for proc, usage in result["usage"].items():
        lines.append(
            f"| {proc} | {usage['cpu_avg']:.0f} | {usage['cpu_max']:.0f} | {usage['mem_max_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["auto", "docker", "host"], default="auto")
    parser.add_argument("--duration", type=int, default=60, help="seconds per profile")
    parser.add_argument("--profiles", default="normal=50,peak=300", help="name=users,...")
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "load")
    args = parser.parse_args()
    try:
        profiles = [(p.split("=")[0], int(p.split("=")[1])) for p in args.profiles.split(",")]
    except (IndexError, ValueError):
        parser.error("--profiles must look like normal=50,peak=300")
    mode = args.mode
    if mode == "auto":
        have_images = shutil.which("docker") and all(
            subprocess.run(
                ["docker", "image", "inspect", i], capture_output=True, check=False
            ).returncode
            == 0
            for i in IMAGES.values()
        )
        mode = "docker" if have_images else "host"
    stack = DockerStack() if mode == "docker" else HostStack()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["JWT_SECRET"] = secrets.token_urlsafe(
        48
    )  # passed by name to docker, never on a command line
    try:
        backend, frontend = stack.start()
        accounts = seed(backend, args.accounts, 3)
        (args.out / "accounts.json").write_text(json.dumps(accounts))
        env = dict(
            os.environ,
            BACKEND_URL=backend,
            FRONTEND_URL=frontend,
            ACCOUNTS_FILE=str(args.out / "accounts.json"),
        )
        cpu = platform.processor() or platform.machine()
        text = [
            (
                f"Machine: {os.cpu_count()} CPUs ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB, "
                f"load average before the run {os.getloadavg()[0]:.1f}; stack: {mode}; {args.duration} s per profile; "
                f"Locust on the same machine.\n"
            )
        ]
        for name, users in profiles:
            result = run_profile(name, users, args.duration, env, args.out, stack)
            text.append(report(name, result, mode))
            print(text[-1], flush=True)
        (args.out / "summary.md").write_text("\n".join(text))
        print(text[0])
        print(f"written to {args.out / 'summary.md'}")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
