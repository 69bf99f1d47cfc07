"""Property-based fuzzing of the backend's OpenAPI schema with Schemathesis, authenticated.

Every generated case (valid data, then data that violates the schema) is sent to the real
uvicorn process as a registered user; the checks are "no 5xx" and "the response matches the
schema documented for its status code". Schemathesis' pytest plugin does not run under
pytest 9 yet, so Hypothesis drives each operation's strategy directly.
"""

from __future__ import annotations

import schemathesis
from hostile_support import Backend, User
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

# (mode, examples per operation): valid inputs exercise the handlers, invalid ones validation.
BUDGET = [(GenerationMode.POSITIVE, 60), (GenerationMode.NEGATIVE, 25)]
MIN_TOTAL_CASES = 1000
# Erasing the account would turn every later case into a 401 for a deleted user (the
# authorization matrix and backend suite cover DELETE /auth/me).
EXCLUDED = {("DELETE", "/api/v1/auth/me")}


def fuzz(operation, mode: GenerationMode, examples: int, user: User, sent: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        sent.append(operation.label)
        response = case.call(headers=user.headers, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    run()


def test_every_operation_survives_generated_input(backend: Backend, user: User) -> None:
    schema = schemathesis.openapi.from_url(f"{backend.url}/openapi.json")
    sent: list[str] = []
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in EXCLUDED]
    for operation in operations:
        for mode, examples in BUDGET:
            try:
                fuzz(operation, mode, examples, user, sent)
            except Unsatisfiable:
                # No schema-violating input exists (e.g. only free-form string path params).
                assert mode is GenerationMode.NEGATIVE, operation.label
            except BaseException as error:
                if isinstance(error, KeyboardInterrupt):
                    raise
                failures[f"{operation.label} [{mode.value}]"] = f"{type(error).__name__}: {error}"[:3000]
    print(f"schemathesis: {len(sent)} cases over {len(operations)} operations")
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert len(sent) >= MIN_TOTAL_CASES, f"only {len(sent)} cases generated over {len(operations)} operations"
