#!/usr/bin/env bash
# The CDK construct's checks (cdk/, README "Migrating from the construct"): npm ci from the lock file, tsc, jest
# (aws-cdk-lib/assertions on the synthesized template), `cdk synth` of the example app for the local target (what
# tests/tests/cdk_construct.rs deploys on the local stack), and `npm pack`. Needs the bootstraps of
# scripts/build-functions.sh (target/sam-build), which check-infra.sh builds before this runs in scripts/test.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/cdk"
started=$(date +%s)
# No notices, version check or telemetry calls from the CLI: the registry is all CI reaches.
export CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=true
echo "== npm ci (cdk/)"
npm ci --no-audit --no-fund --loglevel=error
echo "== tsc"
npx tsc -p .
echo "== jest"
npx jest --ci
echo "== cdk synth of the example app (the local target, for tests/tests/cdk_construct.rs)"
rm -rf cdk.out
npx cdk synth --quiet --no-notices -c clusterIdentifier=local-cluster -c dbUser=etl -c dbName=dev \
  -c statementPrefix=tasker-cdk
test -s cdk.out/SfnRedshiftTaskerExample.template.json
echo "== npm pack"
pack="$(mktemp -d)"
trap 'rm -rf "$pack"' EXIT
npm pack --pack-destination "$pack" --loglevel=error >/dev/null
listing="$(tar -tzf "$pack"/*.tgz)"
for f in dist/lib/index.js dist/lib/index.d.ts template/sam-template.yaml functions/StarterFunction/bootstrap \
  functions/CompleterFunction/bootstrap functions/CancellerFunction/bootstrap; do
  grep -qx "package/$f" <<<"$listing" || { echo "npm pack: package/$f is missing" >&2; exit 1; }
done
echo "cdk checks took $(( $(date +%s) - started )) s"
