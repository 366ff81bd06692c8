"""Cost per 1,000 statements, priced from the counts `flow_bench` measured (target/bench/flow_counts.json).

Usage: python3 bench/cost.py [target/bench/flow_counts.json] [infra/sam-template.yaml]

The prices are inputs, not results: public list prices of us-east-1, each with its page and the date it was
read. The counts are the bench's, per statement, at the measured durations (no added latency): 10 s is measured.
For 5 min and 1 h, this tasker's counts are the 2-minute cell's (past the fast path's window nothing it does
grows with the statement's duration), and the native patterns' state transitions and Data API calls follow the
line through their 30 s and 2 min cells (a poll per interval, a long-poll per 30 s).

SQS is modelled, not taken from the front's log: the local poller's idle long polls run whether or not a statement
is in flight (so does the real event source mapping's, a fixed cost of the deployment, not of a statement), so
each of our statements is charged the three requests its one event costs at most: EventBridge's SendMessage,
its share of a ReceiveMessage and of a delete (batches of up to 10 only lower the last two).
"""
import json
import re
import sys

# us-east-1 list prices, read on 2026-12-07 from the public pricing pages named.
PRICES = {
    # aws.amazon.com/step-functions/pricing: Standard Workflows, $0.025 per 1,000 state transitions.
    "transition": 0.025 / 1000,
    # aws.amazon.com/lambda/pricing: $0.20 per 1M requests; Arm, first 6 billion GB-s a month: $0.0000133334.
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second_arm64": 0.0000133334,
    # aws.amazon.com/dynamodb/pricing/on-demand: $0.625 per million write and $0.125 per million read request
    # units (items here are under 1 KB, so one unit per call; reads counted as strongly consistent).
    "dynamodb_write": 0.625 / 1_000_000,
    "dynamodb_read": 0.125 / 1_000_000,
    # aws.amazon.com/sqs/pricing: standard queue, $0.40 per million requests (after the first million a month).
    "sqs_request": 0.40 / 1_000_000,
    # aws.amazon.com/eventbridge/pricing: events from AWS services on the default bus are free.
    "aws_service_event": 0.0,
    # aws.amazon.com/redshift/pricing: the Data API has no charge of its own (the cluster is billed either way).
    "data_api_call": 0.0,
}


def memory_gb(template_path):
    """The functions' MemorySize (the template's Globals) in GB."""
    text = open(template_path).read()
    sizes = {int(m) for m in re.findall(r"^\s*MemorySize:\s*(\d+)\s*$", text, re.M)}
    if len(sizes) != 1:
        sys.exit(f"expected one MemorySize in {template_path}, found {sorted(sizes)}")
    return sizes.pop() / 1024


GROWS_WITH_DURATION = ("transitions", "data_api_calls")


def per_statement(records, pattern, seconds):
    """The counts of `pattern` at `seconds`: measured, or extended from the 30 s and 2 min cells."""
    cells = {r["statement_seconds"]: r["counts"] for r in records
             if r["pattern"] == pattern and r["added_latency_ms"] == 0}
    if seconds in cells:
        return dict(cells[seconds])
    a, b = cells[30.0], cells[120.0]
    counts = dict(b)
    if pattern.startswith("native"):
        for k in GROWS_WITH_DURATION:
            counts[k] = a.get(k, 0.0) + (b.get(k, 0.0) - a.get(k, 0.0)) * (seconds - 30.0) / 90.0
    return counts


def dollars(counts, gb, ours):
    """Dollars for one statement, by item."""
    items = {
        "Step Functions": counts.get("transitions", 0) * PRICES["transition"],
        "Lambda": counts.get("lambda_requests", 0) * PRICES["lambda_request"]
        + counts.get("lambda_ms", 0) / 1000 * gb * PRICES["lambda_gb_second_arm64"],
        "DynamoDB": counts.get("dynamodb_writes", 0) * PRICES["dynamodb_write"]
        + counts.get("dynamodb_reads", 0) * PRICES["dynamodb_read"],
        # Our paths: the one event's SendMessage, ReceiveMessage and delete (see the module's docstring).
        "SQS": (3 if ours else 0) * PRICES["sqs_request"],
        "EventBridge": (1 if ours else 0) * PRICES["aws_service_event"],
        "Data API": counts.get("data_api_calls", 0) * PRICES["data_api_call"],
    }
    return items


def main():
    counts_path = sys.argv[1] if len(sys.argv) > 1 else "target/bench/flow_counts.json"
    template = sys.argv[2] if len(sys.argv) > 2 else "infra/sam-template.yaml"
    records = json.load(open(counts_path))
    gb = memory_gb(template)
    patterns = list(dict.fromkeys(r["pattern"] for r in records))
    print(f"Cost per 1,000 statements, us-east-1 list prices (read 2026-12-07), functions at {gb * 1024:.0f} MB arm64")
    print()
    print("| duration | pattern | total | Step Functions | Lambda | DynamoDB | SQS | transitions/stmt |")
    print("|---|---|---|---|---|---|---|---|")
    for seconds, label in [(10.0, "10 s"), (300.0, "5 min"), (3600.0, "1 h")]:
        for p in patterns:
            c = per_statement(records, p, seconds)
            ours = not p.startswith("native")
            items = dollars(c, gb, ours)
            total = sum(items.values()) * 1000
            print(f"| {label} | {p} | ${total:.4f} | ${items['Step Functions'] * 1000:.4f} | "
                  f"${items['Lambda'] * 1000:.4f} | ${items['DynamoDB'] * 1000:.4f} | ${items['SQS'] * 1000:.4f} | "
                  f"{c.get('transitions', 0):.1f} |")


if __name__ == "__main__":
    main()
