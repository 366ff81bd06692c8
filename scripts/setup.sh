#!/usr/bin/env bash
# Installs everything the local stack and the tests need on a fresh machine of this kind.
# Idempotent: a second run only checks. Used by scripts/test.sh and scripts/local-example.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${TASKER_VENV:-$root/.venv}"

log() { printf '[setup] %s\n' "$*" >&2; }

# PostgreSQL server binaries (Debian's package). The tests start their own cluster in a temp dir.
pg_bin() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then return 0; fi
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if ! pg_bin; then
  log "installing postgresql (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
# PostgreSQL refuses to run as root: the tests run it as this user when they are root.
if [ "$(id -u)" = 0 ] && ! getent passwd postgres >/dev/null; then
  useradd --system --no-create-home postgres
fi

# The pinned Python peers: moto's server (DynamoDB, SQS, EventBridge, KMS, Step Functions),
# boto3 and pytest for the second conformance suite.
bash "$root/scripts/venv.sh" "$venv" "$root/scripts/requirements.txt"
log "ready: $("$venv/bin/python" -c 'import moto,boto3;print("moto",moto.__version__,"boto3",boto3.__version__)')"
