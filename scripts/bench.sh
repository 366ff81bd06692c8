#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md that run on this machine (not part of the test command: speed is measured,
# never asserted): init time and peak memory against Python + boto3, completion latency, batch concurrency and
# starter throughput on the local stack, the calls per phase, the arm64 binary sizes, and core's criterion bench.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TASKER_VENV="${TASKER_VENV:-$root/.venv}"
echo "== init time and peak memory (release binaries vs python3 + boto3)"
cargo build --release -q -p starter -p completer -p canceller
cargo run -q -p tasker-tests --example init_bench
echo "== side by side: latency, transitions and calls of five patterns; batch concurrency, starter throughput"
cargo run -q -p tasker-tests --example flow_bench
echo "== cost per 1,000 statements (list prices in bench/cost.py, counts measured above)"
python3 bench/cost.py target/bench/flow_counts.json infra/sam-template.yaml
echo "== scale: 2,000 statements in flight, then one sweeper over 2,000 unsettled records"
cargo run -q -p tasker-tests --example scale_bench
echo "== AWS calls per phase"
cargo test -q -p tasker-tests --test call_counts -- --nocapture 2>&1 | grep -E '^(start|retried|cancel)'
echo "== stripped arm64 bootstrap sizes (sam build)"
bash scripts/check-infra.sh 2>/dev/null | grep 'bootstrap: arm64'
echo "== core (criterion)"
cargo bench -q -p tasker-core --bench core -- --warm-up-time 1 --measurement-time 3 2>&1 | grep -E 'time:|^[a-z]' | grep -v Warming
