"""Run the Dagger module's functions without an engine, validating every query against
Dagger's real GraphQL schema (`../shared/dagger/schema.graphqls`, relative to the repo root).

Reusable by other suites (deploy, workflows). With pytest's `--import-mode=importlib` the
tests folder is not a package, so import it by path:

    import sys; from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module"))  # from tests/<x>/
    import module_dagger_harness as h

API
---
`h.load_pipeline_module() -> dagger.mod.Module`
    The module as the Dagger runtime loads it (`dagger.mod.cli.load_module()` with
    DAGGER_MODULE=pipeline, DAGGER_MAIN_OBJECT=Pipeline, DAGGER_DEFAULT_PYTHON_PACKAGE=pipeline,
    `src/` on sys.path). `mod._objects["Pipeline"].functions["push"].parameters[...]` etc.

`h.FakeEngine(files=None, resolvers=None, failures=())`
    A fake engine. `files` maps a path given to `Directory.file(path)` / `Container.file(path)`
    to the text `File.contents` returns (default: the repository's pipeline.yaml as
    "pipeline.yaml"); a File passed as an argument is keyed by its ID. `resolvers` maps "Type.field" (or "field") to `fn(call: FieldCall)`
    returning the leaf value; defaults make `publish` return `<address>@sha256:<digest>`,
    `exitCode` 0, `defaultArgs` ["sh", "-c", "tests"]. Every other leaf gets a placeholder of
    its type (ID -> unique "id-N", String -> "placeholder", Int -> 0, Boolean -> true, lists
    of objects -> one element).
    After a run: `engine.queries` (list of `CapturedQuery`: `.text`, `.calls`),
    `engine.calls(field, type=None)` -> list of `FieldCall` (`.parent_type`, `.name`,
    `.args` as Python values, `.parent` call, `.ancestors()`), `engine.all_text()`.
    Any query that does not validate against the schema raises `SchemaViolation` (the test
    fails with the GraphQL errors).
    `failures` makes the engine fail like a real one (see `Failure`): `h.exec_failure(match,
    exit_code, stdout, stderr)` fails every `withExec` whose arguments contain `match` — with
    `expect: ANY` its `exitCode` / `stdout` / `stderr` / `combinedOutput` give the code and the
    output, otherwise the query fails with the engine's EXEC_ERROR (dagger-io raises
    `dagger.ExecError` with `.command`, `.exit_code`, `.stdout`, `.stderr`);
    `h.image_failure(address)` fails `from` of that address ("failed to resolve image");
    `h.field_failure(field, match, message)` fails any other call (e.g. `publish`).
    Evaluation is lazy as in the engine: a query that only asks for an `id` succeeds, and a
    later query that uses that ID fails; `engine.is_failed(id)` tells whether a returned
    object (e.g. a reports Directory) would fail when exported.

`await h.call(engine, fn_name, inputs=None, parent=None, parent_name="Pipeline",
              module=None)`
    Invoke a function through the SDK's own invoke path
    (`Module.get_result(parent_name, parent_state, fn_name, inputs)`) inside the fake
    connection; returns the unstructured result (IDs for objects, strings, ...). `parent`
    defaults to `h.pipeline_state()` = {"source": "<Directory ID>"}; secrets in `inputs` are
    Secret IDs such as `h.secret_id("registry-password")`.

`await h.typedefs(engine, module=None)`: run the registration (`Module._typedefs()`) against
    the schema; returns the module ID.

`h.secret_id(name)`: a Secret ID for inputs; the engine never learns a plaintext, so any
    plaintext you put in a test must never show up in `engine.all_text()`.

Use with `anyio.run(...)` or an async test runner; one engine run at a time (the SDK's
connection is a process-wide singleton, replaced for the duration of the call).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT.parent / "shared" / "dagger" / "schema.graphqls"
SRC = REPO_ROOT / "src"

# The Dagger runtime sets these before importing the module; so do we (before `import dagger`).
os.environ.setdefault("DAGGER_MODULE", "pipeline")
os.environ.setdefault("DAGGER_MAIN_OBJECT", "Pipeline")
os.environ.setdefault("DAGGER_DEFAULT_PYTHON_PACKAGE", "pipeline")
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import graphql
from gql import Client
from gql.transport.async_transport import AsyncTransport


class SchemaMissing(RuntimeError):
    pass


class SchemaViolation(AssertionError):
    """A query the module would send is not valid for Dagger's schema."""


def load_sdl() -> str:
    if not SCHEMA_PATH.is_file():
        raise SchemaMissing(
            f"Dagger's GraphQL schema is missing: expected {SCHEMA_PATH} "
            "(../shared/dagger/schema.graphqls relative to the repository root). "
            "Get it from a Dagger engine of the pinned version with "
            "`dagger query --doc` introspection or from dagger/dagger "
            "docs/docs-graphql/schema.graphqls, and put it there; these tests never skip."
        )
    return SCHEMA_PATH.read_text(encoding="utf-8")


_SCHEMA: graphql.GraphQLSchema | None = None


def schema() -> graphql.GraphQLSchema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = graphql.build_schema(load_sdl())
    return _SCHEMA


def load_pipeline_module() -> Any:
    """`dagger.mod.cli.load_module()` as the runtime does it."""
    from dagger.mod import cli

    if not cli.MAIN_OBJECT:
        # dagger was imported before this harness set DAGGER_MAIN_OBJECT (import the harness
        # first); the runtime always has it set, so give the loader the same value.
        cli.MAIN_OBJECT = "Pipeline"  # type: ignore[misc]
    importlib.import_module("pipeline")
    mod = cli.load_module()
    if mod._main is None:  # dagger was imported before DAGGER_MAIN_OBJECT was set
        mod._main_name = "Pipeline"
        mod._main = mod.get_object("Pipeline")
    return mod


@dataclass
class FieldCall:
    parent_type: str
    name: str
    args: dict[str, Any]
    parent: FieldCall | None = None

    def ancestors(self) -> list[FieldCall]:
        out: list[FieldCall] = []
        node = self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out

    def nearest(self, name: str) -> FieldCall | None:
        return next((a for a in self.ancestors() if a.name == name), None)


@dataclass
class CapturedQuery:
    text: str
    calls: list[FieldCall]


def _digest_for(address: str) -> str:
    repo = address.split("@", 1)[0]
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:
        repo = repo[: repo.rindex(":")]
    return "sha256:" + hashlib.sha256(repo.encode()).hexdigest()


def _publish(call: FieldCall) -> str:
    address = call.args["address"]
    return f"{address}@{_digest_for(address)}"


DEFAULT_RESOLVERS: dict[str, Callable[[FieldCall], Any]] = {
    "Container.publish": _publish,
    "Container.exitCode": lambda call: 0,
    "Container.defaultArgs": lambda call: ["sh", "-c", "tests"],
}


@dataclass(frozen=True)
class Failure:
    """A call the engine fails: `field` whose arguments (as text) contain `match`."""

    field: str
    match: str
    message: str
    exit_code: int | None = None  # set for an exec failure (EXEC_ERROR)
    stdout: str = ""
    stderr: str = ""

    def matches(self, call: FieldCall) -> bool:
        if call.name != self.field:
            return False
        if call.name == "withExec":  # the command line, as a shell would show it
            return self.match in " ".join(str(a) for a in call.args.get("args", []))
        return self.match in repr(call.args)

    def error(self, call: FieldCall, path: list[str]) -> dict[str, Any]:
        """The GraphQL error as the engine sends it (dagger-io builds its exceptions from it)."""
        error: dict[str, Any] = {"message": self.message, "path": path, "extensions": {}}
        if self.exit_code is not None:
            error["extensions"] = {
                "_type": "EXEC_ERROR",
                "cmd": list(call.args.get("args", [])),
                "exitCode": self.exit_code,
                "stdout": self.stdout,
                "stderr": self.stderr,
            }
        return error


def exec_failure(match: str, exit_code: int = 1, stdout: str = "", stderr: str = "") -> Failure:
    # the real engine's message is this one line (plus a traceparent); the output is in
    # the extensions only
    message = f"exit code: {exit_code} [traceparent:00-0af7651916cd43dd8448eb211c80319c-01]"
    return Failure("withExec", match, message, exit_code, stdout, stderr)


def image_failure(address: str) -> Failure:
    message = (
        f'failed to resolve image "docker.io/{address}": failed to do request: '
        "dial tcp: connection refused"
    )
    return Failure("from", f"'address': '{address}", message)  # also matches address@sha256:...


def field_failure(field_name: str, match: str, message: str) -> Failure:
    return Failure(field_name, match, message)


class _QueryFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error


_OUTPUT_FIELDS = {"exitCode", "stdout", "stderr", "combinedOutput"}


@dataclass
class FakeEngine:
    files: Mapping[str, str] | None = None
    resolvers: Mapping[str, Callable[[FieldCall], Any]] | None = None
    failures: tuple[Failure, ...] | list[Failure] = ()
    queries: list[CapturedQuery] = field(default_factory=lambda: list[CapturedQuery]())
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    # IDs returned by a chain holding a failing call: using one fails (lazy evaluation)
    _tainted: dict[str, dict[str, Any]] = field(default_factory=lambda: dict[str, dict[str, Any]]())

    def __post_init__(self) -> None:
        files = {"pipeline.yaml": (REPO_ROOT / "pipeline.yaml").read_text(encoding="utf-8")}
        files.update(self.files or {})
        self.files = files
        self._resolvers = {**DEFAULT_RESOLVERS, **(self.resolvers or {})}
        self.schema = schema()

    # ---- inspection helpers ----
    def calls(self, name: str, type: str | None = None) -> list[FieldCall]:
        return [
            c
            for q in self.queries
            for c in q.calls
            if c.name == name and (type is None or c.parent_type == type)
        ]

    def all_text(self) -> str:
        return "\n".join(q.text for q in self.queries)

    def is_failed(self, object_id: str) -> bool:
        """Whether an object ID returned earlier would fail when evaluated (e.g. exported)."""
        return object_id in self._tainted

    # ---- answering ----
    def answer(self, document: graphql.DocumentNode, variables: dict[str, Any] | None) -> Any:
        errors = graphql.validate(self.schema, document)
        if errors:
            raise SchemaViolation(
                "query does not validate against ../shared/dagger/schema.graphqls:\n"
                + "\n".join(str(e) for e in errors)
                + "\n"
                + graphql.print_ast(document)
            )
        captured = CapturedQuery(graphql.print_ast(document), [])
        self.queries.append(captured)
        op = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
        root = self.schema.query_type
        assert root is not None
        data = self._select(root, op.selection_set, None, variables or {}, captured)
        error = self._failure(captured)
        if error is None:
            return data
        leaf = captured.calls[-1]
        if leaf.name == "id":  # only an ID asked for: nothing is evaluated yet
            for value in _leaves(data):
                self._tainted[str(value)] = error
            return data
        raise _QueryFailed(error)

    def _failure(self, captured: CapturedQuery) -> dict[str, Any] | None:
        """The error of the first failing call in the query, or of a failing ID it uses."""
        path: list[str] = []
        for call in captured.calls:
            path.append(call.name)
            for failure in self.failures:
                if failure.matches(call) and not self._tolerated(failure, call):
                    return failure.error(call, list(path))
            for value in _values(call.args):
                if isinstance(value, str) and value in self._tainted:
                    return self._tainted[value]
        return None

    @staticmethod
    def _tolerated(failure: Failure, call: FieldCall) -> bool:
        """An exec with `expect: ANY` does not fail; its exit code and output are answered."""
        return failure.exit_code is not None and call.args.get("expect") == "ANY"

    def _exec_output(self, call: FieldCall) -> tuple[bool, Any]:
        """exitCode / stdout / stderr / combinedOutput after an exec failure with expect ANY."""
        if call.name not in _OUTPUT_FIELDS or call.parent is None:
            return False, None
        for ancestor in [call.parent, *call.parent.ancestors()]:
            if ancestor.name != "withExec" or ancestor.args.get("expect") != "ANY":
                continue
            for failure in self.failures:
                if failure.exit_code is not None and failure.matches(ancestor):
                    return True, {
                        "exitCode": failure.exit_code,
                        "stdout": failure.stdout,
                        "stderr": failure.stderr,
                        "combinedOutput": failure.stdout + failure.stderr,
                    }[call.name]
        return False, None

    def _select(
        self,
        parent_type: graphql.GraphQLObjectType | graphql.GraphQLInterfaceType,
        selection_set: graphql.SelectionSetNode,
        parent: FieldCall | None,
        variables: dict[str, Any],
        captured: CapturedQuery,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for sel in selection_set.selections:
            if isinstance(sel, graphql.InlineFragmentNode):
                assert sel.type_condition is not None
                frag_type = self.schema.get_type(sel.type_condition.name.value)
                assert isinstance(
                    frag_type, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType
                )
                out.update(self._select(frag_type, sel.selection_set, parent, variables, captured))
                continue
            assert isinstance(sel, graphql.FieldNode)
            name = sel.name.value
            key = sel.alias.value if sel.alias else name
            if name == "__typename":
                out[key] = parent_type.name
                continue
            fdef = parent_type.fields[name]
            args = graphql.get_argument_values(fdef, sel, variables)
            call = FieldCall(parent_type.name, name, dict(args), parent)
            captured.calls.append(call)
            out[key] = self._value(fdef.type, sel, call, variables, captured)
        return out

    def _value(
        self,
        gtype: graphql.GraphQLOutputType,
        sel: graphql.FieldNode,
        call: FieldCall,
        variables: dict[str, Any],
        captured: CapturedQuery,
    ) -> Any:
        failed, output = self._exec_output(call)
        if failed:
            return output
        resolver = self._resolvers.get(f"{call.parent_type}.{call.name}") or self._resolvers.get(
            call.name
        )
        if resolver is not None:
            return resolver(call)
        if call.name == "id" and call.parent is not None and call.parent.name == "node":
            return call.parent.args["id"]  # loading an object by ID gives that same ID back
        if call.parent_type == "File" and call.name == "contents":
            return self._contents(call)
        named = graphql.get_nullable_type(gtype)
        if isinstance(named, graphql.GraphQLList):
            inner = graphql.get_nullable_type(named.of_type)
            if isinstance(inner, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
                return [self._value(named.of_type, sel, call, variables, captured)]
            return [self._leaf(inner, call)]
        if isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            assert sel.selection_set is not None
            return self._select(named, sel.selection_set, call, variables, captured)
        return self._leaf(named, call)

    def _contents(self, call: FieldCall) -> str:
        file_call = call.nearest("file")
        node = call.nearest("node")
        if file_call is not None:
            path = str(file_call.args.get("path", ""))
        else:  # a File loaded by its ID (e.g. a File argument): keyed by that ID
            path = str(node.args["id"]) if node is not None else ""
        assert self.files is not None
        for candidate in (path, path.lstrip("/"), path.rsplit("/", 1)[-1]):
            if candidate in self.files:
                return self.files[candidate]
        return "placeholder"

    def _leaf(self, gtype: Any, call: FieldCall) -> Any:
        if isinstance(gtype, graphql.GraphQLEnumType):
            return next(iter(gtype.values))
        name = getattr(gtype, "name", "")
        if name == "ID":
            return f"id-{next(self._ids)}"
        if name in ("Int", "Float"):
            return 0
        if name == "Boolean":
            return True
        if name == "Void":
            return None
        if name == "JSON":
            return "{}"
        if name == "Platform":
            return "linux/amd64"
        return "placeholder"


def _values(args: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for value in args.values():
        out.extend(_leaves(value))
    return out


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


class FakeTransport(AsyncTransport):
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def execute(self, request: Any, *args: Any, **kwargs: Any) -> graphql.ExecutionResult:
        try:
            data = self.engine.answer(request.document, request.variable_values)
        except _QueryFailed as e:
            # as the engine answers: gql raises TransportQueryError, dagger-io turns it into
            # QueryError / ExecError from the error's extensions
            return graphql.ExecutionResult(data=None, errors=[e.error])  # type: ignore[list-item]
        return graphql.ExecutionResult(data=data)

    def subscribe(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the Dagger module never subscribes")


@contextlib.asynccontextmanager
async def connected(engine: FakeEngine) -> AsyncIterator[FakeEngine]:
    """Point the SDK's shared connection at the fake engine for the duration."""
    from dagger.client._session import ClientSession, ConnectParams, SharedConnection

    conn = SharedConnection()
    previous = conn._session
    session = ClientSession(ConnectParams(port=1, session_token="offline"))
    session.client = Client(schema=engine.schema, transport=FakeTransport(engine))
    conn._session = session
    try:
        yield engine
    finally:
        await session.close()
        conn._session = previous


def secret_id(name: str) -> str:
    return f"secret-id-{name}"


def pipeline_state(**extra: Any) -> dict[str, Any]:
    return {"source": "source-directory-id", **extra}


async def call(
    engine: FakeEngine,
    fn_name: str,
    inputs: Mapping[str, Any] | None = None,
    parent: Mapping[str, Any] | None = None,
    parent_name: str = "Pipeline",
    module: Any = None,
) -> Any:
    mod = module or load_pipeline_module()
    async with connected(engine):
        return await mod.get_result(
            parent_name,
            dict(parent if parent is not None else pipeline_state()),
            fn_name,
            dict(inputs or {}),
        )


async def typedefs(engine: FakeEngine, module: Any = None) -> Any:
    mod = module or load_pipeline_module()
    async with connected(engine):
        return await mod._typedefs()
