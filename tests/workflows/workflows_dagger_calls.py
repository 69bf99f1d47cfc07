"""Check the `dagger call ...` commands of the GitHub workflows against the function surface
of the Dagger module, as the SDK's own loader registers it.

- `Surface`: the objects of the module (functions, their CLI flags, what they return) plus
  Dagger's core types from the engine's GraphQL schema (for chains like `export --path x`).
- `workflow_calls()`: every `dagger/dagger-for-github` step of .github/workflows, with its
  inputs and the environment the step sees.
- `check_call()`: the problems of one call (unknown function or flag, missing required
  argument, a Secret not passed as env://VAR from the step's environment, chaining on a
  value that has no functions, a wrong engine version...).
"""

from __future__ import annotations

import enum
import re
import shlex
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
SCHEMA = REPO.parent / "shared" / "dagger" / "schema.graphqls"
DAGGER_ACTION = "dagger/dagger-for-github"
EXPR = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
ENV_SECRET = re.compile(r"^env://([A-Za-z_][A-Za-z0-9_]*)$")
# A secret file an earlier step of the job wrote under $RUNNER_TEMP (mode 600).
TEMP_SECRET = re.compile(r"^file://\$\{\{ runner\.temp \}\}/([A-Za-z0-9._-]+)$")
SHELL_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
TEMP_PATH = re.compile(r"\$\{?RUNNER_TEMP\}?/([A-Za-z0-9._-]+)")
# Set by the runner for jobs with `id-token: write`; usable as env:// without an env: entry.
RUNNER_ENV = {"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL"}


class Kind(enum.Enum):
    SECRET = "secret"
    BOOL = "bool"
    LIST = "list"
    VALUE = "value"


@dataclass(frozen=True)
class Arg:
    flag: str  # as on the CLI, without the leading --
    kind: Kind
    required: bool


@dataclass(frozen=True)
class Fn:
    name: str  # as on the CLI
    args: Mapping[str, Arg]
    returns: str | None  # name of an object/core type that can be chained, None for values


@dataclass
class Surface:
    main: str
    constructor: Mapping[str, Arg]
    objects: dict[str, dict[str, Fn]] = field(default_factory=dict)


def kebab(name: str) -> str:
    """CLI spelling of an API name: fail_on_error / failOnError -> fail-on-error."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name.rstrip("_"))
    return name.replace("_", "-").lower()


# ---- the module, through the SDK loader ----------------------------------------------------


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else tp), True
    return tp, False


def _kind(tp: Any) -> Kind:
    import dagger

    tp, _ = _strip_optional(tp)
    if tp is dagger.Secret:
        return Kind.SECRET
    if tp is bool:
        return Kind.BOOL
    if typing.get_origin(tp) in (list, tuple, typing.Sequence):
        return Kind.LIST
    return Kind.VALUE


def _returns(tp: Any, module_objects: Mapping[str, Any]) -> str | None:
    import dagger

    tp, _ = _strip_optional(tp)
    if isinstance(tp, type):
        if tp.__name__ in module_objects:
            return tp.__name__
        if issubclass(tp, dagger.client.base.Type) and not issubclass(
            tp, dagger.client.base.Scalar
        ):
            return tp.__name__
    return None


def _args_of(function: Any) -> dict[str, Arg]:
    args: dict[str, Arg] = {}
    for param in function.parameters.values():
        has_default = param.signature.default is not param.signature.empty
        required = not (has_default or param.is_nullable or param.default_path)
        flag = kebab(param.name)
        args[flag] = Arg(flag, _kind(param.resolved_type), required)
    return args


def load_module() -> Any:
    """The module as `dagger call` sees it: `dagger.mod.cli.load_module()`, through the
    module suite's harness (tests/module/module_dagger_harness.py), which sets the loader's
    environment (DAGGER_MODULE, DAGGER_MAIN_OBJECT, DAGGER_DEFAULT_PYTHON_PACKAGE, src/)."""
    harness_dir = str(REPO / "tests" / "module")
    if harness_dir not in sys.path:
        sys.path.insert(0, harness_dir)
    import module_dagger_harness

    return module_dagger_harness.load_pipeline_module()


def module_surface(mod: Any, main: str = "Pipeline") -> Surface:
    objects: dict[str, Any] = mod._objects
    if main not in objects:
        raise LookupError(f"main object {main!r} is not registered (found {sorted(objects)})")
    constructor = objects[main].get_constructor()
    surface = Surface(main=main, constructor=_args_of(constructor))
    for obj_name, obj in objects.items():
        fns: dict[str, Fn] = {}
        for fn in obj.functions.values():
            if not fn.name:  # the constructor
                continue
            fns[kebab(fn.name)] = Fn(
                kebab(fn.name), _args_of(fn), _returns(fn.return_type, objects)
            )
        hints = typing.get_type_hints(obj.cls) if obj.fields else {}
        for api_name, fld in obj.fields.items():
            returns = _returns(hints.get(fld.original_name, fld.return_type), objects)
            fns[kebab(api_name)] = Fn(kebab(api_name), {}, returns)
        surface.objects[obj_name] = fns
    return surface


def add_core_types(surface: Surface, schema_path: Path = SCHEMA) -> None:
    """Core types (Directory, Container, ...) from the engine's GraphQL schema."""
    import graphql

    if not schema_path.is_file():
        raise FileNotFoundError(
            f"{schema_path} is missing: it is the Dagger engine's GraphQL schema, shipped in "
            "shared/dagger/ beside the repository (../shared/dagger/schema.graphqls)"
        )
    schema = graphql.build_schema(schema_path.read_text(encoding="utf-8"))
    for name, gtype in schema.type_map.items():
        if name.startswith("__") or not isinstance(gtype, graphql.GraphQLObjectType):
            continue
        if name in surface.objects or name == schema.query_type.name:
            continue
        fns: dict[str, Fn] = {}
        for fname, gfield in gtype.fields.items():
            args: dict[str, Arg] = {}
            for aname, garg in gfield.args.items():
                named = graphql.get_named_type(garg.type)
                if named.name in ("SecretID",):
                    kind = Kind.SECRET
                elif named.name == "Boolean":
                    kind = Kind.BOOL
                elif isinstance(graphql.get_nullable_type(garg.type), graphql.GraphQLList):
                    kind = Kind.LIST
                else:
                    kind = Kind.VALUE
                required = (
                    graphql.is_non_null_type(garg.type) and garg.default_value is graphql.Undefined
                )
                args[kebab(aname)] = Arg(kebab(aname), kind, required)
            ret = graphql.get_named_type(gfield.type)
            chainable = isinstance(ret, graphql.GraphQLObjectType)
            fns[kebab(fname)] = Fn(kebab(fname), args, ret.name if chainable else None)
        surface.objects[name] = fns


# ---- the workflows -------------------------------------------------------------------------


@dataclass(frozen=True)
class DaggerStep:
    where: str  # file:job:step, for messages
    inputs: Mapping[str, Any]
    env: Mapping[str, str]
    # Files under $RUNNER_TEMP that earlier steps of the job write, and that a later
    # `if: always()` step removes.
    temp_written: frozenset[str] = frozenset()
    temp_removed: frozenset[str] = frozenset()


def load_workflows(directory: Path = WORKFLOWS) -> dict[str, dict[str, Any]]:
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    return {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in files}


# Earlier steps of a job may add variables to the environment of the later ones.
EXPORTED_ENV = (re.compile(r"\b([A-Z_][A-Z0-9_]*)(?:=|<<)[^\n]*>>\s*\"?\$\{?GITHUB_ENV\b"),)


def exported_env(run: str) -> set[str]:
    return {m.group(1) for pattern in EXPORTED_ENV for m in pattern.finditer(run)}


def removed_always(step: Mapping[str, Any]) -> set[str]:
    """$RUNNER_TEMP files an `if: always()` step deletes with `rm -f`."""
    run = str(step.get("run", ""))
    if str(step.get("if", "")).replace(" ", "") not in ("${{always()}}", "always()"):
        return set()
    if not run.lstrip().startswith("rm -f "):
        return set()
    return set(TEMP_PATH.findall(run))


def workflow_calls(workflows: Mapping[str, Mapping[str, Any]]) -> Iterator[DaggerStep]:
    for file_name, wf in workflows.items():
        wf_env = dict(wf.get("env") or {})
        for job_id, job in (wf.get("jobs") or {}).items():
            job_env = {**wf_env, **(job.get("env") or {})}
            steps = list(job.get("steps") or [])
            written: set[str] = set()
            for index, step in enumerate(steps):
                uses = str(step.get("uses", ""))
                if not uses.startswith(DAGGER_ACTION + "@"):
                    run = str(step.get("run", ""))
                    job_env.update(dict.fromkeys(exported_env(run), "(exported)"))
                    written.update(TEMP_PATH.findall(run))
                    continue
                label = step.get("name") or f"step {index + 1}"
                removed = set[str]().union(*(removed_always(s) for s in steps[index + 1 :]))
                yield DaggerStep(
                    where=f"{file_name}: job {job_id}: {label}",
                    inputs=dict(step.get("with") or {}),
                    env={**job_env, **(step.get("env") or {})},
                    temp_written=frozenset(written),
                    temp_removed=frozenset(removed),
                )


# ---- checking one call ---------------------------------------------------------------------


def _tokens(command: str) -> tuple[list[str], dict[str, str]]:
    """Split like bash would, keeping each ${{ expression }} as one token."""
    expressions: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        key = f"__EXPR{len(expressions)}__"
        expressions[key] = match.group(0)
        return key

    return shlex.split(EXPR.sub(placeholder, command)), expressions


def _expand(token: str, expressions: Mapping[str, str]) -> str:
    for key, text in expressions.items():
        token = token.replace(key, text)
    return token


def check_secret_value(
    flag: str, value: str, env: Mapping[str, str], where: str, step: DaggerStep | None = None
) -> list[str]:
    temp = TEMP_SECRET.match(value)
    if temp:
        name, problems = temp.group(1), []
        if step is None or name not in step.temp_written:
            problems.append(
                f"{where}: --{flag} reads {value}, but no earlier step of the job writes "
                f"${{RUNNER_TEMP}}/{name}"
            )
        if step is None or name not in step.temp_removed:
            problems.append(
                f"{where}: --{flag} reads {value}: a later step with `if: ${{{{ always() }}}}` "
                f'must remove it (rm -f "${{RUNNER_TEMP}}/{name}") so no other step sees it'
            )
        return problems
    match = ENV_SECRET.match(value)
    if not match:
        message = (
            f"{where}: --{flag} is a Secret and must be passed as env://VAR (from the step's "
            f"env:, mapped from a GitHub secret) or file://${{{{ runner.temp }}}}/NAME (written "
            f"by an earlier step, removed by a later one), not {value!r}"
        )
        return [message]
    var = match.group(1)
    if var not in env and var not in RUNNER_ENV:
        return [f"{where}: --{flag} reads env://{var}, but the step's environment has no {var}"]
    return []


def check_call(
    step: DaggerStep, surface: Surface, engine_version: str, chain: list[str] | None = None
) -> list[str]:
    """The problems of one dagger step; `chain` (when given) receives the function names."""
    where = step.where
    chain = [] if chain is None else chain
    problems: list[str] = []
    inputs = step.inputs
    if str(inputs.get("version", "")) != engine_version:
        problems.append(
            f"{where}: version {inputs.get('version')!r} must equal dagger.json's "
            f"engineVersion {engine_version!r}"
        )
    if inputs.get("verb", "call") != "call":
        problems.append(
            f"{where}: verb {inputs.get('verb')!r}: the workflows only use `dagger call`"
        )
    if inputs.get("module", ".") not in ("", "."):
        problems.append(
            f"{where}: module {inputs.get('module')!r}: calls must use this repository's module"
        )
    if "dagger-flags" in inputs:
        problems.append(f"{where}: dagger-flags overrides the action's flags; use the defaults")
    if inputs.get("call") and inputs.get("args"):
        problems.append(f"{where}: give `call` or `args`, not both")
    command = str(inputs.get("call") or inputs.get("args") or "").strip()
    if not command:
        return [*problems, f"{where}: no `call` input: every dagger step runs one function"]
    if set(command) & set("'\"`\\") or "$(" in command:
        # dagger-for-github v8 pastes the input into its own bash script, inside '...'
        # (echo '${{ toJSON(inputs.call) }}') and "..." ([[ -n "${{ inputs.call }}" ]]):
        # a quote, backtick, backslash or $( would end those strings or run a command.
        problems.append(
            f"{where}: no quotes, backticks, backslashes or $( in `call`: the action pastes it "
            "into its own script inside '...' and \"...\""
        )
    if "secrets." in command:
        problems.append(
            f"{where}: a secret is written into the command; map it in env: and pass env://VAR"
        )
    # The action's exec step pastes the call unquoted into bash, so $VAR expands there: the
    # way to pass github.* values without a ${{ }} in the action's script. Each must come
    # from the step's env: and never hold a secret (it would be in dagger's arguments).
    for var in SHELL_VAR.findall(EXPR.sub("", command)):
        value = step.env.get(var)
        if value is None:
            problems.append(f"{where}: ${var} in `call` is not in the step's env:")
        elif "secrets." in str(value):
            problems.append(f"{where}: ${var} holds a secret: pass it as env://{var} instead")
    for var, value in step.env.items():
        if "secrets." in str(value) and f"env://{var}" not in command:
            problems.append(f"{where}: env {var} holds a secret the command never reads; drop it")
    tokens, expressions = _tokens(command)

    def parse_flags(i: int, args: Mapping[str, Arg], owner: str) -> tuple[int, set[str]]:
        seen: set[str] = set()
        while i < len(tokens) and tokens[i].startswith("-"):
            token = tokens[i]
            if not token.startswith("--"):
                problems.append(
                    f"{where}: {owner}: short option {token!r} is not a function argument"
                )
                i += 1
                continue
            name, has_value, value = token[2:].partition("=")
            i += 1
            arg = args.get(name)
            if arg is None:
                known = ", ".join(f"--{a}" for a in sorted(args)) or "none"
                problems.append(f"{where}: {owner} has no argument --{name} (arguments: {known})")
                if not has_value and i < len(tokens) and not tokens[i].startswith("-"):
                    i += 1  # assume it took a value, to keep checking what follows
                continue
            seen.add(name)
            if arg.kind is Kind.BOOL:
                if has_value and value not in ("true", "false") and not value.startswith("__EXPR"):
                    problems.append(f"{where}: {owner} --{name}={value}: must be true or false")
                continue
            if not has_value:
                if i >= len(tokens):
                    problems.append(f"{where}: {owner} --{name} needs a value")
                    continue
                value = tokens[i]
                i += 1
            if arg.kind is Kind.SECRET:
                problems.extend(
                    check_secret_value(
                        name, _expand(value, expressions), step.env, f"{where}: {owner}", step
                    )
                )
        return i, seen

    def require(args: Mapping[str, Arg], seen: set[str], owner: str) -> None:
        for missing in sorted(a.flag for a in args.values() if a.required and a.flag not in seen):
            problems.append(f"{where}: {owner} needs --{missing}")

    i, seen = parse_flags(0, surface.constructor, f"constructor of {surface.main}")
    require(surface.constructor, seen, f"constructor of {surface.main}")
    current: str | None = surface.main
    if i >= len(tokens):
        problems.append(f"{where}: no function after the constructor arguments")
    while i < len(tokens):
        name = tokens[i]
        i += 1
        if current is None:
            problems.append(f"{where}: {name!r} follows a function whose result has no functions")
            break
        fns = surface.objects.get(current)
        if fns is None:
            problems.append(f"{where}: unknown type {current} (chain before {name!r})")
            break
        fn = fns.get(name)
        if fn is None:
            known = ", ".join(sorted(fns)) if len(fns) < 40 else f"{len(fns)} functions"
            problems.append(f"{where}: {current} has no function {name!r} ({known})")
            break
        chain.append(name)
        i, seen = parse_flags(i, fn.args, f"{current}.{name}")
        require(fn.args, seen, f"{current}.{name}")
        current = fn.returns
    return problems


def engine_version(repo: Path = REPO) -> str:
    import json

    return json.loads((repo / "dagger.json").read_text(encoding="utf-8"))["engineVersion"]


def surface_for_tests() -> Surface:
    surface = module_surface(load_module())
    add_core_types(surface)
    return surface


__all__ = [
    "Arg",
    "DaggerStep",
    "Fn",
    "Kind",
    "Surface",
    "add_core_types",
    "check_call",
    "engine_version",
    "kebab",
    "load_workflows",
    "module_surface",
    "surface_for_tests",
    "workflow_calls",
]
