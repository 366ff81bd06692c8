#!/usr/bin/env bash
# The local trial (no AWS): sets up the peers, builds the release binaries of the three functions, then runs the
# example state machine on the local stack with those binaries behind a local Lambda Runtime API.
# Options (passed through): --definition FILE [--input JSON] to run your own state machine, --keep-up to keep the
# stack up and print its endpoints; see tests/examples/local_trial.rs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TASKER_VENV="${TASKER_VENV:-$root/.venv}"
cargo build --quiet --release --bins
target="${CARGO_TARGET_DIR:-$root/target}"
exec cargo run --quiet -p tasker-tests --example local_trial -- --binaries "$target/release" "$@"
