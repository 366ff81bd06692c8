#!/usr/bin/env bash
# The template's offline checks: sam validate --lint, cfn-lint, checkov, then `sam build` of the three arm64
# bootstrap binaries with cargo-lambda (its bundled zig links them). Installs its tools from PyPI into
# .venv-infra and .venv-checkov (checkov's pins clash with SAM's), and the aarch64 Rust target.
# Run by scripts/test.sh; on its own: `bash scripts/check-infra.sh`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
infra="$root/.venv-infra" checkov="$root/.venv-checkov"
bash scripts/venv.sh "$infra" scripts/requirements-infra.txt
bash scripts/venv.sh "$checkov" scripts/requirements-checkov.txt
arm64_std=yes
rustup target add aarch64-unknown-linux-gnu || arm64_std=no
export PATH="$infra/bin:$PATH" SAM_CLI_TELEMETRY=0
template=infra/sam-template.yaml

echo "== sam validate --lint"
sam validate --lint --template "$template" --region us-east-1
echo "== cfn-lint (with the informational rules)"
cfn-lint --include-checks I -- "$template"
echo "== checkov (skips are named, with reasons, in the template's Metadata)"
"$checkov/bin/checkov" --file "$template" --framework cloudformation --skip-download --quiet --compact
echo "== sam build (arm64, cargo-lambda)"
if [ "$arm64_std" = no ]; then
  # The one step that needs more than the package registries (rustup's aarch64 std); say so loudly.
  echo "SKIPPED sam build: rustup could not install the aarch64-unknown-linux-gnu target here" >&2
  exit 0
fi
export CARGO_TARGET_DIR="$root/target/sam"
build="$root/target/sam-build"
started=$(date +%s)
sam build --template "$template" --build-dir "$build" --beta-features
echo "sam build took $(( $(date +%s) - started )) s"
for f in StarterFunction CompleterFunction CancellerFunction; do
  bin="$build/$f/bootstrap"
  [ -x "$bin" ] || { echo "missing $bin" >&2; exit 1; }
  # ELF e_machine (bytes 18-19, little endian): 0xb7 is AArch64.
  machine="$(od -An -tx1 -j18 -N2 "$bin" | tr -d ' \n')"
  [ "$machine" = "b700" ] || { echo "$bin is not an arm64 ELF (e_machine $machine)" >&2; exit 1; }
  echo "$f/bootstrap: arm64, $(stat -c %s "$bin") bytes"
done
