"""Latency benchmark (not a test): 50 concurrent clients against a real uvicorn server.

    cd backend && uv run python bench/latency.py            # embedded store, then Redis if available
    uv run python bench/latency.py --backends embedded --clients 50 --requests 1000

Starts uvicorn (app.main:app) on a free port with a throw-away SQLite file (and a throw-away
redis-server for the "redis" run), seeds a user with documents, then fires the clients at
GET /api/v1/documents, POST /api/v1/documents/search and POST /api/v1/drafts/generate.
Prints p50/p95/p99 latency, throughput and errors per endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp  # installed with elasticsearch[async]
import httpx

BACKEND = Path(__file__).resolve().parents[1]
GOALS_MS = {"list": 100, "search": 100, "generate": 500}
TOPICS = ["kubernetes", "gardening", "astronomy", "cooking", "sailing", "databases", "music", "history"]
WORDS = (
    "cluster node pod deploy tomato soil compost harvest star galaxy orbit telescope recipe oven "
    "flavour boat wind sail index query replica melody rhythm empire treaty archive"
).split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_document(rng: random.Random, topic: str, sentences: int = 60) -> str:
    lines = [f"# Notes about {topic}", ""]
    for i in range(sentences):
        words = rng.sample(WORDS, 8)
        lines.append(f"The {topic} {words[0]} {words[1]} meets the {words[2]} near {words[3]} and {words[4]} number {i}.")
        if i % 6 == 5:
            lines.append("")
    return "\n".join(lines)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode}")
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server did not become ready within 60 s")


async def seed(client: httpx.AsyncClient, documents: int) -> tuple[dict[str, str], list[str]]:
    credentials = {"email": f"bench{random.randrange(10**9)}@example.com", "password": "benchmark-pw-1"}
    (await client.post("/api/v1/auth/register", json={**credentials, "full_name": "Bench"})).raise_for_status()
    token = (await client.post("/api/v1/auth/login", json=credentials)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    ids = []
    for i in range(documents):
        topic = TOPICS[i % len(TOPICS)]
        response = await client.post(
            "/api/v1/documents", files={"file": (f"{topic}-{i}.md", make_document(rng, topic).encode())}, headers=headers
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    return headers, ids


async def run_scenario(
    client: aiohttp.ClientSession,
    name: str,
    build,
    clients: int,
    total: int,  # type: ignore[no-untyped-def]
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            method, url, kwargs = build(i)
            started = time.perf_counter()
            try:
                async with client.request(method, url, **kwargs) as response:
                    await response.read()
                    ok = response.status < 400
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    values = sorted(latencies)
    return {
        "requests": len(values),
        "errors": errors,
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
        "rps": len(values) / elapsed,
    }


async def bench_backend(label: str, env: dict[str, str], args: argparse.Namespace) -> list[tuple[str, dict[str, float]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: ASYNC220 - starting the server once, before any load
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "5",
            *args.uvicorn_arg,
        ],
        cwd=BACKEND,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_ready(base, server)
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            headers, ids = await seed(client, args.documents)
            rng = random.Random(11)
            scenarios = {
                "list": lambda i: ("GET", "/api/v1/documents", {"headers": headers, "params": {"limit": 20}}),
                "search": lambda i: (
                    "POST",
                    "/api/v1/documents/search",
                    {"headers": headers, "json": {"query": f"{rng.choice(WORDS)} {rng.choice(TOPICS)}", "k": 5}},
                ),
                "generate": lambda i: (
                    "POST",
                    "/api/v1/drafts/generate",
                    {
                        "headers": headers,
                        "json": {"document_ids": rng.sample(ids, 3), "topic": rng.choice(TOPICS), "length": "medium"},
                    },
                ),
            }
            results = []
            # aiohttp as the load generator: it costs far less CPU per request than httpx,
            # which matters because it shares the machine with the server.
            connector = aiohttp.TCPConnector(limit=args.clients)
            timeout = aiohttp.ClientTimeout(total=30)
            async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
                for name, build in scenarios.items():
                    await run_scenario(session, name, build, args.clients, args.clients)  # warm-up
                    total = args.requests if name != "generate" else max(args.clients, args.requests // 2)
                    results.append((f"{label:9} {name}", await run_scenario(session, name, build, args.clients, total)))
            return results
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def start_redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if binary is None:
        return None
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return process, f"redis://127.0.0.1:{port}/0"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint (generation: half)")
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--backends", default="embedded,redis", help="comma list: embedded, redis")
    parser.add_argument("--uvicorn-arg", action="append", default=[], help="extra uvicorn argument (repeatable)")
    args = parser.parse_args()

    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base_env = {
            **os.environ,
            "APP_ENV": "development",
            "LOG_LEVEL": "INFO",
            "RATE_LIMIT_AUTH_REQUESTS": "1000000",
            "RATE_LIMIT_GENERATE_REQUESTS": "1000000",
        }
        for var in ("REDIS_URL", "ELASTICSEARCH_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"):
            base_env.pop(var, None)
        for backend in args.backends.split(","):
            env = {**base_env, "DATABASE_PATH": f"{tmp}/{backend}.sqlite3"}
            if backend == "redis":
                redis = start_redis()
                if redis is None:
                    print("redis-server not found: skipping the Redis run", file=sys.stderr)
                    continue
                env["REDIS_URL"] = redis[1]
                try:
                    results += await bench_backend("redis", env, args)
                finally:
                    redis[0].terminate()
                    redis[0].wait()
            else:
                results += await bench_backend("embedded", env, args)

    print(f"\n{args.clients} concurrent clients, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'scenario':28} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8}  goal p95")
    failed = False
    for name, r in results:
        goal = GOALS_MS[name.split()[-1]]
        verdict = "ok" if r["p95"] < goal and r["errors"] == 0 else "MISSED"
        failed |= verdict != "ok"
        figures = f"{r['requests']:8.0f} {r['errors']:6.0f} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} {r['rps']:8.1f}"
        print(f"{name:28} {figures}  <{goal} ms {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
