"""Realistic traffic mix for the Blog Creator stack (run by run.py; see README.md).

Environment: BACKEND_URL (required), FRONTEND_URL (optional: page views through the Next.js
app when set), ACCOUNTS_FILE (JSON list of {"email", "password", "documents": [ids]} seeded
by run.py; every simulated user signs in as one of them).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
from pathlib import Path

from locust import HttpUser, between, task

BACKEND_URL = os.environ["BACKEND_URL"].rstrip("/")
FRONTEND_URL = os.environ.get("FRONTEND_URL", "").rstrip("/")
ACCOUNTS = json.loads(Path(os.environ["ACCOUNTS_FILE"]).read_text(encoding="utf-8"))
WORDS = ["pipeline", "container", "latency", "redis", "search", "draft", "security", "deploy"]
_next_account = itertools.cycle(ACCOUNTS)
_lock = threading.Lock()


def pick_account() -> dict:
    with _lock:
        return next(_next_account)


class ApiUser(HttpUser):
    """A writer using the API: reads documents, searches, generates and edits drafts."""

    host = BACKEND_URL
    weight = 3
    wait_time = between(1, 3)  # think time between actions

    def on_start(self) -> None:
        self.account = pick_account()
        response = self.client.post(
            "/api/v1/auth/login",
            json={"email": self.account["email"], "password": self.account["password"]},
            name="POST /auth/login",
        )
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self.drafts: list[str] = []

    @task(10)
    def list_documents(self) -> None:
        self.client.get("/api/v1/documents?limit=20", name="GET /documents")

    @task(3)
    def view_document(self) -> None:
        document = random.choice(self.account["documents"])
        self.client.get(f"/api/v1/documents/{document}", name="GET /documents/{id}")

    @task(8)
    def search(self) -> None:
        query = " ".join(random.sample(WORDS, 2))
        self.client.post(
            "/api/v1/documents/search", json={"query": query, "k": 5}, name="POST /documents/search"
        )

    @task(4)
    def list_drafts(self) -> None:
        self.client.get("/api/v1/drafts?limit=20", name="GET /drafts")

    @task(2)
    def generate(self) -> None:
        documents = random.sample(
            self.account["documents"], k=min(2, len(self.account["documents"]))
        )
        response = self.client.post(
            "/api/v1/drafts/generate",
            json={
                "document_ids": documents,
                "topic": random.choice(WORDS),
                "tone": "casual",
                "length": "short",
            },
            name="POST /drafts/generate",
        )
        if response.status_code == 201:
            self.drafts.append(response.json()["id"])

    @task(3)
    def edit_draft(self) -> None:
        if not self.drafts:
            return
        draft = random.choice(self.drafts)
        self.client.put(
            f"/api/v1/drafts/{draft}",
            json={"title": f"Edited {random.randint(1, 10**6)}", "status": "draft"},
            name="PUT /drafts/{id}",
        )


class BrowserUser(HttpUser):
    """A person in the web app: server-rendered pages and the BFF calls they make."""

    host = FRONTEND_URL or BACKEND_URL
    weight = 1 if FRONTEND_URL else 0
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.account = pick_account()
        self.client.get(f"{FRONTEND_URL}/login", name="page /login")
        response = self.client.post(
            f"{FRONTEND_URL}/api/auth/login",
            json={"email": self.account["email"], "password": self.account["password"]},
            name="POST frontend /api/auth/login",
        )
        response.raise_for_status()

    def page(self, path: str) -> None:
        # A page that bounces to /login means the session was lost: count it as a failure.
        with self.client.get(
            f"{FRONTEND_URL}{path}", name=f"page {path}", allow_redirects=False, catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{path} answered {r.status_code} {r.headers.get('location', '')}")

    @task(4)
    def dashboard(self) -> None:
        self.page("/dashboard")

    @task(3)
    def documents_page(self) -> None:
        self.page("/documents")

    @task(2)
    def drafts_page(self) -> None:
        self.page("/drafts")

    @task(3)
    def bff_documents(self) -> None:
        self.client.get(
            f"{FRONTEND_URL}/api/bff/documents?limit=20", name="GET frontend /api/bff/documents"
        )
