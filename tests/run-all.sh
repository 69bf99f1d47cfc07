#!/usr/bin/env bash
# The repository's one test command (README "Tests"): runs every suite, keeps going
# after a failure so one run shows every problem, then prints one summary line and
# exits non-zero if any suite failed. Reports land in reports/.
# Needs the environment .ci/run prepares (root .venv, backend/.venv, frontend/node_modules,
# helm/kubectl/linters in $TOOLS_DIR/bin, a Docker engine, redis-server, chromium).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export TOOLS_DIR="${TOOLS_DIR:-$HOME/.cache/blog-creator/tools}"
export PATH="$TOOLS_DIR/bin:$PATH"
export NEXT_TELEMETRY_DISABLED=1
mkdir -p reports
rm -f reports/*-junit.xml reports/backend/junit.xml  # the recap below reads this run's only
passed=() failed=()
started=$SECONDS

run_suite() {  # run_suite NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  printf '\n##### suite %s: %s\n' "$name" "$*"
  if "$@"; then passed+=("$name"); status=passed; else failed+=("$name"); status=FAILED; fi
  printf '##### suite %s %s in %ss\n' "$name" "$status" "$((SECONDS - t0))"
}

pytest_root() { .venv/bin/python -m pytest "$@"; }

# frontend and e2e first: the e2e suite makes the production build that later suites serve.
# The checks of `dagger call lint` that the other suites do not already run (pyright strict on
# the module: tests/module; ESLint/tsc: frontend; actionlint/zizmor:
# tests/workflows; helm lint: tests/k8s).
run_suite lint       bash -c '.venv/bin/ruff check src tests backend bench \
  && (cd backend && ../.venv/bin/pyright --pythonpath .venv/bin/python) \
  && .venv/bin/hadolint dockerfiles/*.Dockerfile \
  && shellcheck -S warning scripts/*.sh backend/scripts/*.sh .ci/run tests/run-all.sh'
run_suite frontend   bash -c 'cd frontend && npm run -s typecheck && npm run -s lint && npm test --silent'
run_suite e2e        bash -c 'cd frontend && npm run -s build && npm run -s e2e'
run_suite backend    env REPORTS_DIR="$PWD/reports/backend" bash backend/scripts/test-with-elasticsearch.sh
# Sign-up and sign-in with the production argon2 parameters (the suite above weakens them).
run_suite backend-argon2 bash -c 'cd backend && ARGON2_PRODUCTION=1 uv run pytest -q -p no:cacheprovider --no-cov tests/test_auth.py tests/test_password_hashing.py'
run_suite platform   pytest_root tests --ignore=tests/images --ignore=tests/supplychain \
  --ignore=tests/cluster --ignore=tests/rehearsal --junitxml=reports/platform-junit.xml
# The chart on a real API server: kwok fake nodes and one real kubelet node (probes, Services,
# NetworkPolicy, HPA, Prometheus), and the release rehearsal on the real node.
run_suite cluster    pytest_root tests/cluster tests/rehearsal --junitxml=reports/cluster-junit.xml
# The release rehearsed on the real node: staging (blue-green) and prod (canary), install then
# upgrade with real analysis, an unsigned release refused; reports in reports/rehearsal/.
run_suite rehearsal  bash scripts/rehearsal.sh
run_suite images     pytest_root tests/images tests/supplychain --junitxml=reports/images-junit.xml

# The failed tests' messages at the end of the log, where CI pages show it.
[ ${#failed[@]} -eq 0 ] || .venv/bin/python tests/junit_recap.py reports/*-junit.xml reports/backend/junit.xml
printf '\nSuites passed: %s\nSuites failed: %s\nTotal time: %ss\n' \
  "${passed[*]:-none}" "${failed[*]:-none}" "$((SECONDS - started))"
echo "suites: ${#passed[@]} passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
