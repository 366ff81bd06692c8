#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), then runs the checks and every test.
# Used as is by .ci/run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TASKER_VENV="${TASKER_VENV:-$root/.venv}"
if [ "${CI:-}" = true ]; then
  # CI's disk is small and its clone is built once: no incremental caches (GBs for ~30 test targets) and line
  # tables only as debug info (backtraces keep file and line). A run ran out of disk without these.
  export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only
fi
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== template checks and sam build"
bash scripts/check-infra.sh
echo "== the CDK construct (cdk/): npm ci, tsc, jest, cdk synth of the example (tests/tests/cdk_construct.rs deploys it), npm pack"
bash scripts/check-cdk.sh
echo "== cargo build (the Lambda binaries, which tests/tests/binaries.rs runs behind a local Runtime API)"
cargo build --workspace --bins
echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
if [ "${CI:-}" = true ]; then
  # The trial's release build comes next, on CI's small disk: the test binaries that have run (about 80 MB each,
  # 2 GB in all) are not needed again. Their paths are the ones cargo printed as it ran them.
  grep -oE '\(target/debug/deps/[^)]+\)' "$log" | tr -d '()' | xargs -r rm -f || true
fi
echo "== the local trial (the README's first command) and Ctrl-C in its middle"
bash scripts/check-trial.sh
# One closing line over every test binary (cargo's own last line is the last binary's, often an empty doc-test run).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
