#!/usr/bin/env bash
# Check that commit messages follow Conventional Commits (commitizen's
# cz_conventional_commits rules, configured in .cz.toml).
#
#   bash scripts/check_commits.sh                    # every commit reachable from HEAD
#   bash scripts/check_commits.sh origin/main..HEAD  # just a range
#   COMMIT_RANGE=abc123..HEAD bash scripts/check_commits.sh
#
# Uses $VENV/bin/cz (VENV defaults to .venv). Exits non-zero on a bad message,
# a missing tool, or a checker that would accept a bad message.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

VENV=${VENV:-.venv}
CZ=${CZ:-$VENV/bin/cz}
if [[ ! -x "$CZ" ]]; then
  echo "check_commits: commitizen not found at $CZ (install requirements-dev.txt into $VENV)" >&2
  exit 1
fi

# Self-test, so the check cannot pass vacuously.
if "$CZ" check --message "updated some stuff" >/dev/null 2>&1; then
  echo "check_commits: self-test FAILED: cz accepted a non-conventional message" >&2
  exit 1
fi
if ! "$CZ" check --message "feat(kernel): add the typed bus" >/dev/null 2>&1; then
  echo "check_commits: self-test FAILED: cz rejected a conventional message" >&2
  exit 1
fi

if ! git rev-parse --verify --quiet HEAD >/dev/null; then
  echo "check_commits: the repository has no commits yet; nothing to check"
  exit 0
fi

range=${1:-${COMMIT_RANGE:-HEAD}}
count=$(git rev-list --count "$range")
if [[ "$count" -eq 0 ]]; then
  echo "check_commits: no commits in $range; nothing to check"
  exit 0
fi

echo "check_commits: checking $count commit message(s) in $range"
if ! "$CZ" check --rev-range "$range"; then
  cat >&2 <<'MSG'
check_commits: commit messages must follow Conventional Commits, e.g.
  feat(catalog): add product search      fix: handle an empty cart
  docs: ...  test: ...  refactor: ...  ci: ...  build: ...  chore: ...
  a breaking change: "feat!: ..." or a "BREAKING CHANGE: ..." footer
MSG
  exit 1
fi
