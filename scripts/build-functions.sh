#!/usr/bin/env bash
# The three arm64 `bootstrap`s, built as `sam build` builds them (cargo-lambda; its bundled zig links them) into
# target/sam-build/{StarterFunction,CompleterFunction,CancellerFunction}/bootstrap: what `sam deploy` ships and
# what the CDK construct (cdk/) takes as its assets. One command: `bash scripts/build-functions.sh`.
# Installs SAM and cargo-lambda from PyPI into .venv-infra and rustup's aarch64 target. Run by check-infra.sh.
# Exit status 3 (after a loud SKIPPED line) when rustup cannot install the aarch64 target here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
infra="$root/.venv-infra"
bash scripts/venv.sh "$infra" scripts/requirements-infra.txt
if ! rustup target add aarch64-unknown-linux-gnu; then
  # The one step that needs more than the package registries (rustup's aarch64 std); say so loudly.
  echo "SKIPPED sam build: rustup could not install the aarch64-unknown-linux-gnu target here" >&2
  exit 3
fi
export PATH="$infra/bin:$PATH" SAM_CLI_TELEMETRY=0
export CARGO_TARGET_DIR="$root/target/sam"
build="$root/target/sam-build"
started=$(date +%s)
sam build --template infra/sam-template.yaml --build-dir "$build" --beta-features
echo "sam build took $(( $(date +%s) - started )) s"
for f in StarterFunction CompleterFunction CancellerFunction; do
  bin="$build/$f/bootstrap"
  [ -x "$bin" ] || { echo "missing $bin" >&2; exit 1; }
  # ELF e_machine (bytes 18-19, little endian): 0xb7 is AArch64.
  machine="$(od -An -tx1 -j18 -N2 "$bin" | tr -d ' \n')"
  [ "$machine" = "b700" ] || { echo "$bin is not an arm64 ELF (e_machine $machine)" >&2; exit 1; }
  echo "$f/bootstrap: arm64, $(stat -c %s "$bin") bytes"
done
if [ "${CI:-}" = true ]; then
  # The bootstraps are copied into $build; CI builds once, so cargo-lambda's target (GBs) only takes disk.
  echo "CI: removing the arm64 build's target ($(du -sh "$CARGO_TARGET_DIR" | cut -f1))"
  rm -rf "$CARGO_TARGET_DIR"
fi
