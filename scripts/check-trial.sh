#!/usr/bin/env bash
# CI check of the local trial: runs the README's first command as written, with `--report json`, and checks the
# report (each step's outcome, states and records), then interrupts a second run with Ctrl-C in the middle (SIGINT
# to its process group, as a terminal sends it) and checks that no process and no temporary directory is left behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tmp="${TMPDIR:-/tmp}"
out="$(mktemp)"
trap 'rm -f "$out" "$out.int"' EXIT
fail() { echo "check-trial: $*" >&2; exit 1; }

echo "== the local trial, exactly as the README writes it, with its JSON report: bash scripts/local-example.sh --report json"
bash scripts/local-example.sh --report json > "$out"
python="${TASKER_VENV:-$root/.venv}/bin/python"
"$python" - "$out" <<'PY' || fail "the report does not show the expected run"
import json, re, sys
report = json.load(open(sys.argv[1]))
steps = report["steps"]
def check(ok, what):
    if not ok:
        sys.exit(f"check-trial: {what}")
check(len(steps) == 9, f"{len(steps)} steps reported, 9 expected")
check(report["ok"] and all(s["asExpected"] for s in steps),
      "steps not as expected: " + ", ".join(s["name"] for s in steps if not s["asExpected"]))
by_error = {s["error"]: s for s in steps if s["error"]}
slow = by_error.get("SqlTimedOut")
check(slow is not None and "cancelSlowQuery" in slow["states"], "the timeout never reached cancelSlowQuery")
# The canceller asks; the ABORTED event settles (ORPHANED on AWS, where the timed-out token is gone; moto takes
# the late answer, so ABORTED here).
check(any(r["status"] in ("ORPHANED", "ABORTED") and r["cancelRequested"]
          and re.fullmatch(r"local-trial-[0-9a-f]{32}", r["statementName"]) for r in slow["records"]),
      f"no cancelled record settled by its ABORTED event: {slow['records']}")
check("SqlFailed" in by_error, "no step caught FAILED into SqlFailed")
report_rows = steps[-1]["output"]["records"]
check(report_rows[:1] and report_rows[0]["day"] == "2026-11-01", f"the report step returned {report_rows}")
PY
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
