"""Settings validation: bad configuration stops start-up with one clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import DEFAULT_JWT_SECRET, Settings, describe_error

BACKEND = Path(__file__).resolve().parents[1]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "JWT_", "REDIS_", "MAX_", "OTEL_"))}
    return subprocess.run([sys.executable, *args], cwd=BACKEND, env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_production_refuses_default_secret():
    with pytest.raises(ValidationError) as info:
        Settings(app_env="production", jwt_secret=DEFAULT_JWT_SECRET)
    assert "JWT_SECRET" in describe_error(info.value)
    with pytest.raises(ValidationError):
        Settings(app_env="production", jwt_secret="short")
    assert Settings(app_env="production", jwt_secret="x" * 32).app_env == "production"


def test_development_accepts_default_secret(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert Settings(app_env="development").jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"redis_url": "http://x"}, "REDIS_URL"),
        ({"elasticsearch_url": "es:9200"}, "ELASTICSEARCH_URL"),
        ({"elasticsearch_analyzer": "english; drop"}, "ELASTICSEARCH_ANALYZER"),
        ({"elasticsearch_replicas": -1}, "ELASTICSEARCH_REPLICAS"),
        ({"elasticsearch_refresh_interval": "-1"}, "ELASTICSEARCH_REFRESH_INTERVAL"),
        ({"max_upload_bytes": 10}, "MAX_UPLOAD_BYTES"),
        ({"generation_provider": "magic"}, "GENERATION_PROVIDER"),
        ({"openai_base_url": "ftp://x"}, "OPENAI_BASE_URL"),
    ],
)
def test_errors_name_the_variable(values, variable):
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, **values)
    message = describe_error(info.value)
    assert message.startswith("configuration error: invalid setting " + variable)


def test_lists_and_empty_urls_are_parsed_from_the_environment(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("REDIS_URL", "")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.redis_url is None


def test_settings_check_command():
    ok = run(["-m", "app.settings_check"], APP_ENV="test")
    assert ok.returncode == 0 and "settings OK" in ok.stdout
    bad = run(["-m", "app.settings_check"], APP_ENV="production")
    assert bad.returncode == 2
    assert "JWT_SECRET" in bad.stderr and "Traceback" not in bad.stderr


def test_server_start_path_stops_with_one_clear_message():
    # uvicorn imports app.main; an invalid variable must end the process without a traceback.
    result = run(["-c", "import app.main"], MAX_UPLOAD_BYTES="ten-megabytes")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: invalid setting MAX_UPLOAD_BYTES: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_settings_check_main_in_process(monkeypatch, capsys):
    from app import settings_check

    monkeypatch.setenv("APP_ENV", "test")
    assert settings_check.main() == 0
    monkeypatch.setenv("APP_ENV", "staging")
    assert settings_check.main() == 2
    assert "invalid setting APP_ENV" in capsys.readouterr().err


def test_load_settings_exits_2_in_process(monkeypatch, capsys):
    from app.main import _load_settings

    monkeypatch.setenv("REDIS_URL", "localhost:6379")
    with pytest.raises(SystemExit) as info:
        _load_settings()
    assert info.value.code == 2
    assert "invalid setting REDIS_URL: must start with redis://" in capsys.readouterr().err


def test_elasticsearch_ca_certs_is_checked_at_start_up(tmp_path):
    https = {"ELASTICSEARCH_URL": "https://es.example:9200"}
    missing = run(["-c", "import app.main"], **https, ELASTICSEARCH_CA_CERTS=str(tmp_path / "nope.pem"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"configuration error: invalid setting ELASTICSEARCH_CA_CERTS: {tmp_path / 'nope.pem'} does not exist: "
        "point it at the PEM file of the cluster's CA"
    ]
    not_pem = tmp_path / "ca.der"
    not_pem.write_bytes(b"\x30\x82\x01\x0a binary")
    bad = run(["-m", "app.settings_check"], **https, ELASTICSEARCH_CA_CERTS=str(not_pem))
    assert bad.returncode == 2 and "ELASTICSEARCH_CA_CERTS" in bad.stderr and "holds no PEM certificate" in bad.stderr
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    plain = run(["-m", "app.settings_check"], ELASTICSEARCH_URL="http://es:9200", ELASTICSEARCH_CA_CERTS=str(pem))
    assert plain.returncode == 2 and "only used with an https:// ELASTICSEARCH_URL" in plain.stderr
    with pytest.raises(ValidationError, match="it is unset"):
        Settings(_env_file=None, elasticsearch_url=None, elasticsearch_ca_certs=str(pem))
    accepted = Settings(_env_file=None, elasticsearch_url="https://es:9200", elasticsearch_ca_certs=str(pem))
    assert accepted.elasticsearch_ca_certs == str(pem.resolve())
    assert Settings(_env_file=None, elasticsearch_ca_certs="").elasticsearch_ca_certs is None


def test_elasticsearch_ca_certs_errors_in_process(tmp_path):
    def problem(path) -> str:
        with pytest.raises(ValidationError) as info:
            Settings(_env_file=None, elasticsearch_url="https://es:9200", elasticsearch_ca_certs=str(path))
        return describe_error(info.value)

    assert problem(tmp_path / "absent.pem").endswith("absent.pem does not exist: point it at the PEM file of the cluster's CA")
    assert "cannot be read: Is a directory" in problem(tmp_path)
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    assert problem(tmp_path / "key.pem").startswith("configuration error: invalid setting ELASTICSEARCH_CA_CERTS: ")
