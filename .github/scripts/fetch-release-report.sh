#!/usr/bin/env bash
# Download the release report of what cd.yml last deployed to an environment:
#   staging -> the latest successful cd run on main (release + staging deploy)
#   prod    -> the latest successful cd run of a version tag (promotion to production)
# Usage: fetch-release-report.sh staging|prod DEST_DIR
# Needs the GitHub CLI with GH_TOKEN (actions: read) and GH_REPO set.
set -euo pipefail

env_name="${1:-}"
dest="${2:-}"
if [[ -z "$env_name" || -z "$dest" ]]; then
  echo "usage: fetch-release-report.sh staging|prod DEST_DIR" >&2
  exit 2
fi
case "$env_name" in
  staging) filter='map(select(.headBranch == "main"))' ;;
  prod) filter='map(select(.headBranch | test("^v[0-9]+[.][0-9]+[.][0-9]+$")))' ;;
  *)
    echo "fetch-release-report: unknown environment '$env_name' (allowed: staging, prod)" >&2
    exit 2
    ;;
esac

run_id="$(gh run list --workflow cd.yml --event push --status success --limit 100 \
  --json databaseId,headBranch --jq "$filter | .[0].databaseId // empty")"
if [[ -z "$run_id" ]]; then
  echo "::error::no successful cd run has deployed to $env_name yet: nothing to check" >&2
  exit 1
fi
echo "release report of cd run $run_id ($env_name)" >&2
gh run download "$run_id" --name release-report --dir "$dest"
