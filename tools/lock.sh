#!/usr/bin/env bash
# The locked install: requirements/run.lock (README command 1) and requirements/dev.lock (command 2
# and CI) pin every distribution, with hashes, for Python 3.11 and 3.12 on Linux x86-64.
#   bash tools/lock.sh           after editing pyproject.toml's pins: rewrite both locks
#   bash tools/lock.sh --check   CI: fail when the locks and pyproject.toml disagree
# uv keeps every version a lock already pins unless pyproject.toml asks for another, so a check
# fails only on a real disagreement, not on a new upstream release.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
out=requirements
if [ "${1:-}" = --check ]; then
  out=$(mktemp -d)
  cp requirements/run.lock requirements/dev.lock "$out"/
fi
compile() {
  "$uv" pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
    --no-header --quiet "$@"
}
compile -o "$out/run.lock"
compile --extra dev --extra jax -o "$out/dev.lock"
if [ "${1:-}" = --check ]; then
  for lock in run dev; do
    if ! cmp -s "requirements/$lock.lock" "$out/$lock.lock"; then
      diff "requirements/$lock.lock" "$out/$lock.lock" | head -20 >&2
      echo "requirements/$lock.lock does not match pyproject.toml: run \`bash tools/lock.sh\`" \
        "and commit both locks" >&2
      exit 1
    fi
  done
  echo "requirements/*.lock match pyproject.toml"
fi
