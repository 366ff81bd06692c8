#!/usr/bin/env bash
# CI check of the local trial: runs the README's first command exactly as written and checks its timeline (each
# state's outcome), then interrupts a second run with Ctrl-C in the middle (SIGINT to its process group, as a
# terminal sends it) and checks that no process and no temporary directory is left behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tmp="${TMPDIR:-/tmp}"
out="$(mktemp)"
trap 'rm -f "$out" "$out.int"' EXIT
fail() { echo "check-trial: $*" >&2; exit 1; }

echo "== the local trial, exactly as the README writes it: bash scripts/local-example.sh"
bash scripts/local-example.sh | tee "$out"
expected=9
got="$(grep -c '^  => .*as expected$' "$out" || true)"
[ "$got" = "$expected" ] || fail "$got of $expected steps behaved as expected"
! grep -q 'UNEXPECTED' "$out" || fail "a step did not behave as expected"
grep -q '^all steps behaved as expected$' "$out" || fail "no closing line"
grep -Eq 'TaskStateEntered +cancelSlowQuery' "$out" || fail "the timeout never reached cancelSlowQuery"
grep -Eq 'ExecutionFailed +SqlTimedOut' "$out" || fail "no SqlTimedOut in the timeline"
grep -Eq 'ExecutionFailed +SqlFailed' "$out" || fail "no SqlFailed in the timeline"
# The canceller asks; the ABORTED event settles (ORPHANED on AWS, where the timed-out token is gone; moto takes the
# late answer, so ABORTED here).
grep -Eq 'record: local-trial-[0-9a-f]{32} id=[0-9a-f-]{36} status=(ORPHANED|ABORTED) \(cancel requested\)' "$out" \
  || fail "no cancelled record settled by its ABORTED event"
grep -q '"records":\[{"day":"2026-11-01"' "$out" || fail "the report step returned no rows"
echo "check-trial: the timeline is as expected"

echo "== Ctrl-C in the middle of a second run"
before="$(ls -d "$tmp"/tasker-* 2>/dev/null | sort || true)"
setsid bash scripts/local-example.sh > "$out.int" 2>&1 &
leader=$!
for _ in $(seq 1 900); do
  grep -q '^== load rows' "$out.int" && break
  kill -0 "$leader" 2>/dev/null || break
  sleep 0.2
done
grep -q '^== load rows' "$out.int" || { cat "$out.int" >&2; fail "the second run never reached its middle"; }
kill -INT -- "-$leader"
status=0
wait "$leader" || status=$?
[ "$status" = 130 ] || { cat "$out.int" >&2; fail "the interrupted run exited $status, not 130"; }
sleep 1
left="$(ps -eo pid=,pgid=,args= | awk -v g="$leader" '$2 == g' || true)"
[ -z "$left" ] || fail "processes left behind: $left"
after="$(ls -d "$tmp"/tasker-* 2>/dev/null | sort || true)"
[ "$before" = "$after" ] || fail "temporary directories left behind: $(comm -13 <(echo "$before") <(echo "$after"))"
grep -q '^interrupted' "$out.int" || fail "no interruption message"
echo "check-trial: Ctrl-C left no process and no temporary directory"
