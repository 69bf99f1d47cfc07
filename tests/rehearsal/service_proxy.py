"""A loopback front door for one Service of the rehearsal cluster (its "ingress").

    python tests/rehearsal/service_proxy.py KUBECONFIG NAMESPACE SERVICE PORT LISTEN_PORT MAX_SECONDS

Listens on 127.0.0.1:LISTEN_PORT and forwards each connection to the Service's ClusterIP (looked
up per connection, so it works before the first install and across Service changes); kube-proxy
then balances over the ready pods like an ingress controller would. Only this cluster's Service
addresses are dialled. Stops after MAX_SECONDS.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

_cache: dict[str, tuple[float, str]] = {}


def cluster_ip(kubeconfig: str, namespace: str, service: str) -> str:
    now = time.monotonic()
    hit = _cache.get(service)
    if hit and now - hit[0] < 2:
        return hit[1]
    done = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            kubeconfig,
            "-n",
            namespace,
            "get",
            "service",
            service,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    ip = json.loads(done.stdout)["spec"]["clusterIP"] if done.returncode == 0 else ""
    _cache[service] = (now, ip)
    return ip


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(
    kubeconfig: str, namespace: str, service: str, port: int, listen: int, max_s: float
) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip = await asyncio.to_thread(cluster_ip, kubeconfig, namespace, service)
        if not ip:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 5)
        except (OSError, TimeoutError):
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await asyncio.sleep(max_s)


if __name__ == "__main__":
    k, ns, svc, port, listen, max_s = sys.argv[1:]
    asyncio.run(main(k, ns, svc, int(port), int(listen), float(max_s)))
