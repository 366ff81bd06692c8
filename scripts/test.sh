#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), then runs the checks and every test.
# Used as is by .ci/run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TASKER_VENV="${TASKER_VENV:-$root/.venv}"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
