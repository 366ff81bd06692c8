//! The hot pure functions of `core`: what every starter and completer invocation runs besides its AWS calls.
//! `cargo bench -p tasker-core` (not in CI: speed is measured, never asserted).

use criterion::{criterion_main, Criterion};
use serde_json::json;
use std::hint::black_box;
use tasker_core::{
    parse_body, starter::parse, statement_name, success_output, Column, EntryKey, Field, Finished,
    StatementPrefix,
};

fn benches(c: &mut Criterion) {
    let prefix = StatementPrefix::parse("etl-prod").unwrap();
    c.bench_function("statement_name", |b| {
        b.iter(|| {
            statement_name(
                &prefix,
                black_box(&EntryKey {
                    execution_arn: Some(
                        "arn:aws:states:eu-west-1:123456789012:execution:nightly-elt:2026-11-25",
                    ),
                    state_name: Some("LoadDay"),
                    state_entered_time: Some("2026-11-25T02:00:00.123Z"),
                    sql_digest: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                    attempt: None,
                }),
            )
        })
    });
    let payload = json!({
        "taskToken": "AQCEAAAAKgAAAAMAAAAAAAAAAZ9", "executionArn": "arn:aws:states:eu-west-1:123456789012:execution:e:x",
        "stateName": "LoadDay", "stateEnteredTime": "2026-11-25T02:00:00.123Z",
        "sqlStatement": "call etl.load_day(:day)", "parameters": {"day": "2026-11-24"}, "resultRows": 10
    });
    c.bench_function("parse starter payload", |b| {
        b.iter(|| parse(black_box(&payload)))
    });
    let body = json!({"version": "0", "id": "e", "source": "aws.redshift-data",
        "detail-type": "Redshift Data Statement Status Change", "time": "2026-11-25T02:00:03Z",
        "region": "eu-west-1", "resources": [],
        "detail": {"principal": "arn:aws:sts::123456789012:assumed-role/r/starter",
                   "statementName": "etl-prod-0123456789abcdef0123456789abcdef",
                   "statementId": "7c9a1f3e-0000-4000-8000-000000000001", "redshiftQueryId": 42,
                   "state": "FINISHED", "rows": 1000, "expireAt": 1796221137}})
    .to_string();
    c.bench_function("parse event body", |b| {
        b.iter(|| parse_body(black_box(&body), &prefix))
    });
    let columns: Vec<Column> = ["id", "name", "amount", "day"]
        .iter()
        .map(|n| Column {
            name: n.to_string(),
            type_name: None,
            nullable: None,
        })
        .collect();
    let rows: Vec<Vec<Field>> = (0..1000)
        .map(|i| {
            vec![
                Field::Long(i),
                Field::Text(format!("customer {i}")),
                Field::Double(i as f64 * 1.5),
                Field::Text("2026-11-24".into()),
            ]
        })
        .collect();
    let finished = Finished {
        statement_name: "etl-prod-0123456789abcdef0123456789abcdef".into(),
        statement_id: "7c9a1f3e-0000-4000-8000-000000000001".into(),
        rows: 1000,
        duration_ms: 1234,
        has_result_set: true,
        records: Some((columns, rows)),
        records_budget: tasker_core::DEFAULT_RESULT_MAX_BYTES as usize,
        session_id: None,
        detail: json!({"principal": "arn:aws:iam::123456789012:role/starter", "state": "FINISHED", "rows": 1000}),
    };
    c.bench_function("success output, 1000 rows", |b| {
        b.iter(|| success_output(black_box(&finished)))
    });
}

/// Runs the benchmarks with criterion's command-line options: what `criterion_group!` generates, written out so
/// that it can carry this doc.
fn core() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
}

criterion_main!(core);
