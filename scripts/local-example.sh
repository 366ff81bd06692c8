#!/usr/bin/env bash
# The local trial (no AWS): sets up the peers, builds the release binaries of the three functions, then runs
# `tasker-local` (local/) with those binaries behind a local Lambda Runtime API. Arguments are passed through:
# `trial` (the default), `run --definition FILE [--input JSON]`, `up`, `--report json`; see `--help`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TASKER_VENV="${TASKER_VENV:-$root/.venv}"
cargo build --quiet --release -p starter -p completer -p canceller
target="${CARGO_TARGET_DIR:-$root/target}"
exec cargo run --quiet -p tasker-local -- --binaries "$target/release" "$@"
