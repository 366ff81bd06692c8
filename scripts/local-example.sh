#!/usr/bin/env bash
# The local trial: sets up the peers, then runs the example state machine on the local stack (no AWS).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TASKER_VENV="${TASKER_VENV:-$root/.venv}"
exec cargo run --quiet -p tasker-tests --example local_trial
