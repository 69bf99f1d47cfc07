"""Backup/restore drill: scripts/restore-drill.sh on real redis-server and backend processes."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from faults_processes import ROOT, Client, RedisServer, free_port

pytestmark = pytest.mark.timeout(150)
DRILL = ROOT / "scripts" / "restore-drill.sh"


def drill(*args: str) -> str:
    result = subprocess.run(
        ["bash", str(DRILL), *args], check=False, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, (
        f"restore-drill.sh {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def test_backup_restored_into_fresh_server_keeps_users_documents_drafts(
    redis_server, backend_factory, tmp_path: Path
) -> None:
    source_dir = tmp_path / "source"
    backend = backend_factory(redis_server.url, source_dir)
    written: dict[str, dict] = {}
    for n in range(3):
        client = Client(backend.url, f"drill-{n}@example.com")
        client.register()
        client.login()
        document = client.upload(
            f"drill-{n}.md", f"# Drill {n}\n\nRecovery exercise with keyword orchid{n}.\n"
        )
        assert document.status_code == 201, document.text
        draft = client.generate(document.json()["id"])
        assert draft.status_code == 201, draft.text
        edited = client.http.put(
            f"/drafts/{draft.json()['id']}", json={"title": f"Edited drill {n}"}
        )
        assert edited.status_code == 200, edited.text
        written[client.email] = {
            "document": document.json()["id"],
            "draft": draft.json()["id"],
            "title": f"Edited drill {n}",
        }

    out = drill(
        "backup",
        "--redis-url",
        redis_server.url,
        "--sqlite",
        str(source_dir / "blog.sqlite3"),
        "--out",
        str(tmp_path / "backup"),
    )
    assert "dump.rdb" in out
    backend.kill(signal.SIGKILL)
    redis_server.stop()  # the original server and its data are gone from the drill's point of view

    port = free_port()
    restored_dir = tmp_path / "restored-redis"
    restored_sqlite = tmp_path / "restored-backend" / "blog.sqlite3"
    try:
        out = drill(
            "restore",
            "--from",
            str(tmp_path / "backup"),
            "--dir",
            str(restored_dir),
            "--port",
            str(port),
            "--sqlite-to",
            str(restored_sqlite),
        )
        assert f"REDIS_URL=redis://127.0.0.1:{port}/0" in out
        restored = RedisServer(restored_dir, port)
        assert "yes" in restored.cli("CONFIG", "GET", "appendonly"), (
            "AOF is off on the restored server"
        )
        assert (restored_dir / "appendonlydir").is_dir(), "AOF was not turned on after the restore"

        fresh = backend_factory(f"redis://127.0.0.1:{port}/0", restored_sqlite.parent)
        for email, expected in written.items():
            client = Client(fresh.url, email)
            client.login()  # the same password still works
            assert set(client.documents()) == {expected["document"]}
            drafts = client.drafts()
            assert set(drafts) == {expected["draft"]}
            assert drafts[expected["draft"]]["title"] == expected["title"]
            keyword = f"orchid{email.split('-')[1].split('@')[0]}"
            assert [hit["document_id"] for hit in client.search(keyword)] == [expected["document"]]
        # The restored stack accepts new writes too.
        newcomer = Client(fresh.url, "after-restore@example.com")
        newcomer.register()
        newcomer.login()
        assert newcomer.upload("new.md", "# New\n\nWritten after the restore.\n").status_code == 201
    finally:
        pid_file = restored_dir / "redis.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def test_restore_refuses_a_non_empty_data_dir(tmp_path: Path) -> None:
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "dump.rdb").write_bytes(b"REDIS0011")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.me").write_text("existing data")
    result = subprocess.run(
        [
            "bash",
            str(DRILL),
            "restore",
            "--from",
            str(tmp_path / "backup"),
            "--dir",
            str(tmp_path / "data"),
            "--port",
            str(free_port()),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "not empty" in result.stderr
    assert (tmp_path / "data" / "keep.me").read_text() == "existing data"
