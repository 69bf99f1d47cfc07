"""The workflow steps that handle tokens, run for real under strace (issue 17 item 4).

Each step's own `run:` script runs with bash as the runner would (tests/workflows/
workflows_steps.py), and the test asserts that no token is in any process's argument list,
in $GITHUB_ENV or in $GITHUB_OUTPUT; that the secret file is mode 600 under $RUNNER_TEMP;
and that the step after the deploy removes it.

Stand-ins, because the real services cannot exist here: the cloud CLIs `aws` and `az` and,
for the GKE step, the GKE API (a `curl` stand-in that answers only when the bearer header
came on stdin). The GitHub OIDC token endpoint of cd.yml is a real HTTP server on loopback
queried by the real curl, so `curl --header @-` is proven to send the header.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from workflows_dagger_calls import REPO
from workflows_steps import StepRun, executables, find_step, run_step

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfakeCAforTests\n-----END CERTIFICATE-----\n"
CA_B64 = base64.b64encode(CA_PEM).decode()

AWS = f"""#!/usr/bin/env python3
import os, sys
a = sys.argv[1:]
if a[:2] == ["eks", "describe-cluster"]:
    query = a[a.index("--query") + 1]
    print({{"cluster.endpoint": "https://ABC123.gr7.eu-west-1.eks.amazonaws.com",
           "cluster.certificateAuthority.data": "{CA_B64}"}}[query])
elif a[:2] == ["eks", "get-token"]:
    print(os.environ["STAND_IN_TOKEN"])
else:
    sys.exit("aws stand-in: unexpected arguments " + " ".join(a))
"""

AZ = f"""#!/usr/bin/env python3
import json, os, sys
a = sys.argv[1:]
if a[:2] == ["aks", "show"]:
    print(json.dumps({{"fqdn": "blog-dns-1a2b.hcp.westeurope.azmk8s.io"}}))
elif a[:2] == ["aks", "get-credentials"] and a[a.index("--file") + 1] == "-":
    print("apiVersion: v1\\nkind: Config\\nclusters:\\n- name: blog\\n  cluster:\\n"
          "    certificate-authority-data: {CA_B64}\\n    server: https://x\\n")
elif a[:2] == ["account", "get-access-token"]:
    print(os.environ["STAND_IN_TOKEN"])
else:
    sys.exit("az stand-in: unexpected arguments " + " ".join(a))
"""

# The GKE API: answers the cluster only when the bearer header arrived on stdin (-H @-).
GKE_CURL = f"""#!/usr/bin/env python3
import json, os, sys
a = sys.argv[1:]
headers = sys.stdin.read() if "@-" in a else ""
with open(os.environ["STAND_IN_LOG"], "w") as log:
    json.dump({{"args": a, "stdin": headers}}, log)
if headers != "Authorization: Bearer " + os.environ["STAND_IN_TOKEN"] + "\\n":
    sys.exit(22)
print(json.dumps({{"endpoint": "34.10.20.30", "masterAuth": {{"clusterCaCertificate": "{CA_B64}"}}}}))
"""


def stand_ins(tmp_path: Path, **scripts: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def assert_secret_stays_put(run: StepRun, secret: str, *also_secret: str) -> None:
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.trace.count("execve(") >= 2, "strace recorded the processes"
    for value in (secret, *also_secret):
        assert value not in run.trace, "a token is in a process's argument list"
        assert value not in run.github_env and value not in run.github_output
        assert value not in run.stderr
    assert run.github_env == "" and run.github_output == ""
    assert f"::add-mask::{secret}" in run.stdout.splitlines()


def assert_removed_by_the_next_step(
    workflow: str, job: str, run: StepRun, strace: str, tmp_path: Path, name: str
) -> None:
    removal = find_step(workflow, job, "Remove the")
    assert (run.runner_temp / name).exists()
    done = run_step(removal, strace, tmp_path / "removal", runner_temp=run.runner_temp)
    assert done.returncode == 0, done.stderr
    assert not (run.runner_temp / name).exists()


@pytest.mark.parametrize(
    ("cloud", "server"),
    [
        ("eks", "https://ABC123.gr7.eu-west-1.eks.amazonaws.com"),
        ("gke", "https://34.10.20.30"),
        ("aks", "https://blog-dns-1a2b.hcp.westeurope.azmk8s.io"),
    ],
)
def test_cloud_kubeconfig_step_keeps_the_token_out_of_argv_and_env(
    tmp_path: Path,
    strace: str,
    kubectl: str,
    request: pytest.FixtureRequest,
    cloud: str,
    server: str,
) -> None:
    if cloud == "aks":
        request.getfixturevalue("yq")  # the AKS step reads the CA with yq
    token = f"{cloud}-token-Zq8Xv2Lr5Wm9"
    bin_dir = stand_ins(tmp_path, aws=AWS, az=AZ, curl=GKE_CURL)
    step = find_step("cloud-examples.yml", cloud, "Kubeconfig with a short-lived token")
    env = {
        "STAND_IN_TOKEN": token,
        "STAND_IN_LOG": str(tmp_path / "curl.json"),
        "CLUSTER": "blog",
        "PROJECT": "proj",
        "LOCATION": "europe-west1",
        "RESOURCE_GROUP": "rg",
    }
    if cloud == "gke":
        env["ACCESS_TOKEN"] = token  # the auth action's output, in this step's env only
    run = run_step(step, strace, tmp_path / "step", env, [bin_dir])
    assert_secret_stays_put(run, token)
    assert {"eks": "aws", "gke": "curl", "aks": "az"}[cloud] in executables(run)
    if cloud == "gke":
        curl = json.loads((tmp_path / "curl.json").read_text())
        assert "--header" in curl["args"] and "@-" in curl["args"]
    kubeconfig = run.runner_temp / "kubeconfig"
    assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
    view = run_step(
        {"run": f'kubectl config view --raw -o json --kubeconfig "{kubeconfig}"'},
        strace,
        tmp_path / "view",
        path_dirs=[Path(kubectl).parent],
    )
    config = json.loads(view.stdout)
    assert config["clusters"][0]["cluster"]["server"] == server
    assert base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]) == (
        CA_PEM
    )
    assert config["users"][0]["user"] == {"token": token}
    assert_removed_by_the_next_step(
        "cloud-examples.yml", cloud, run, strace, tmp_path, "kubeconfig"
    )


# ---- cd.yml: the Sigstore identity token ----------------------------------------------------

REQUEST_TOKEN = "request-token-Vb7Np3Qs"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.sigstore-id.Kp4Rt8"


class TokenEndpoint(BaseHTTPRequestHandler):
    """GitHub's OIDC token endpoint: an ID token for the right request bearer token."""

    seen: ClassVar[list[tuple[str, str]]] = []
    answer: ClassVar[dict[str, object]] = {"value": ID_TOKEN}

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        type(self).seen.append((self.path, auth))
        ok = auth == f"bearer {REQUEST_TOKEN}" and self.path.endswith("&audience=sigstore")
        body = json.dumps(type(self).answer if ok else {"message": "bad"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def token_endpoint() -> Iterator[str]:
    TokenEndpoint.seen = []
    TokenEndpoint.answer = {"value": ID_TOKEN}
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/_apis/token?api-version=2.0"
    server.shutdown()
    server.server_close()


def test_identity_token_step_writes_a_file_and_no_output(
    tmp_path: Path, strace: str, token_endpoint: str
) -> None:
    step = find_step("cd.yml", "release", "Sigstore identity token")
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": token_endpoint,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
    }
    run = run_step(step, strace, tmp_path / "step", env)
    assert TokenEndpoint.seen == [
        (
            token_endpoint.removeprefix(token_endpoint.split("/_apis")[0]) + "&audience=sigstore",
            f"bearer {REQUEST_TOKEN}",
        )
    ]
    assert "curl" in executables(run)
    assert_secret_stays_put(run, ID_TOKEN, REQUEST_TOKEN)
    assert f"::add-mask::{REQUEST_TOKEN}" not in run.stdout  # the runner masks its own token
    token_file = run.runner_temp / "sigstore-id-token"
    assert token_file.read_text() == ID_TOKEN  # no trailing newline in the Secret
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert_removed_by_the_next_step("cd.yml", "release", run, strace, tmp_path, "sigstore-id-token")


def test_identity_token_endpoint_without_a_value(
    tmp_path: Path, strace: str, token_endpoint: str
) -> None:
    TokenEndpoint.answer = {"count": 0}
    step = find_step("cd.yml", "release", "Sigstore identity token")
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": token_endpoint,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
    }
    run = run_step(step, strace, tmp_path / "step", env)
    assert run.returncode == 1 and "answered without a 'value' string" in run.stderr
    assert not (run.runner_temp / "sigstore-id-token").exists()


def test_identity_token_refused_by_the_endpoint(
    tmp_path: Path, strace: str, token_endpoint: str
) -> None:
    step = find_step("cd.yml", "release", "Sigstore identity token")
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": token_endpoint,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "not-the-request-token",
    }
    run = run_step(step, strace, tmp_path / "step", env)
    assert run.returncode != 0 and "401" in run.stderr  # curl --fail --show-error
    assert not (run.runner_temp / "sigstore-id-token").exists()
    assert "not-the-request-token" not in run.trace + run.stdout + run.stderr


def test_identity_token_needs_the_id_token_permission(tmp_path: Path, strace: str) -> None:
    step = find_step("cd.yml", "release", "Sigstore identity token")
    run = run_step(step, strace, tmp_path / "step", {"ACTIONS_ID_TOKEN_REQUEST_URL": ""})
    assert run.returncode == 2 and "permissions: id-token: write" in run.stderr


def test_the_scripts_the_steps_run_are_in_the_repository() -> None:
    for script in ("write-kubeconfig.sh", "sigstore-id-token.sh"):
        path = REPO / ".github" / "scripts" / script
        assert path.is_file() and path.stat().st_mode & 0o111, path
