"""A loopback front door for one Service of the rehearsal cluster (its "ingress").

    python tests/rehearsal/rehearsal_service_proxy.py KUBECONFIG NAMESPACE SERVICE PORT LISTEN_PORT MAX_SECONDS

Listens on 127.0.0.1:LISTEN_PORT and forwards each connection to the Service's ClusterIP (looked
up every 2 s in the background, so it works before the first install and across Service changes,
and no connection waits for kubectl); kube-proxy then balances over the ready pods like an
ingress controller would. Only this cluster's Service addresses are dialled. Stops after
MAX_SECONDS.
"""

from __future__ import annotations

import asyncio
import sys
import time

from rehearsal_kubectl import get_json

REFRESH_S = 2


def cluster_ip(kubeconfig: str, namespace: str, service: str) -> str:
    """The Service's ClusterIP, "" when it cannot be read (not installed yet, API server slow)."""
    service_json = get_json(kubeconfig, "-n", namespace, "get", "service", service, timeout=10)
    return service_json.get("spec", {}).get("clusterIP", "")


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
    known = {"ip": ""}

    async def refresh() -> None:
        end = time.monotonic() + max_s
        while time.monotonic() < end:
            ip = await asyncio.to_thread(cluster_ip, kubeconfig, namespace, service)
            if ip or not known["ip"]:  # a failed lookup (API server busy) keeps the last address
                known["ip"] = ip
            await asyncio.sleep(REFRESH_S)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip = known["ip"]
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
    refresher = asyncio.create_task(refresh())
    async with server:
        await asyncio.sleep(max_s)
    refresher.cancel()


if __name__ == "__main__":
    k, ns, svc, port, listen, max_s = sys.argv[1:]
    asyncio.run(main(k, ns, svc, int(port), int(listen), float(max_s)))
