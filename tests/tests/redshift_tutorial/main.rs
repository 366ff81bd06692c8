//! Amazon Redshift's own getting-started tutorial on the laptop, and the SQL reference's examples over its
//! database: the conformance corpus of redshift-local (issue #25).
//!
//! The TICKIT database is generated in the tutorial's file shapes (`tickit`), put in the local S3, created with
//! the tutorial's DDL and loaded with its `COPY` commands; then every case of `corpus` runs through
//! aws-sdk-redshiftdata and its answer is compared with the one computed from the generated rows. Numbers compare
//! as numbers (`728.00` and `728` are the same value; Redshift and PostgreSQL print some types differently, which
//! other tests pin down), everything else as text.
//!
//! The run prints how many cases pass and, for each that does not, why. [`KNOWN_GAPS`] lists the cases
//! redshift-local does not pass yet, with the reason: the test fails when any other case fails, and also when a
//! known gap starts to pass, so the list (and the README's, which repeats it) stays true.

mod corpus;
mod tickit;

use aws_sdk_redshiftdata::types::Field;
use aws_sdk_redshiftdata::Client;
use corpus::{Case, Expect};
use tasker_tests::stack::{run_finished, Stack, StackOptions};

const BUCKET: &str = "redshift-downloads";

/// Cases redshift-local does not pass, each with why. Kept in step with the README.
const KNOWN_GAPS: &[(&str, &str)] = &[
    ("qualify", "PostgreSQL has no QUALIFY clause and the AST pass does not yet rewrite it to a filtered derived table"),
    ("pivot", "PostgreSQL has no PIVOT and the AST pass does not yet rewrite it to conditional aggregates"),
];

/// A statement's answer: its rows as text, or why it failed.
async fn answer(c: &Client, sql: &str) -> Result<(i64, Vec<Vec<String>>), String> {
    let d = run_finished(c, sql).await?;
    let mut rows = Vec::new();
    if d.has_result_set() == Some(true) {
        let mut token: Option<String> = None;
        loop {
            let page = c
                .get_statement_result()
                .id(d.id())
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("GetStatementResult: {e:?}"))?;
            for r in page.records() {
                rows.push(r.iter().map(text).collect());
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok((d.result_rows(), rows))
}

fn text(f: &Field) -> String {
    match f {
        Field::IsNull(_) => "NULL".to_string(),
        Field::LongValue(n) => n.to_string(),
        Field::DoubleValue(d) => d.to_string(),
        Field::BooleanValue(b) => b.to_string(),
        Field::StringValue(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// Two cells are the same value: equal text, or equal numbers (to a relative 1e-9).
fn same(got: &str, want: &str) -> bool {
    if got == want {
        return true;
    }
    match (got.trim().parse::<f64>(), want.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
        _ => false,
    }
}

fn same_rows(got: &[Vec<String>], want: &[Vec<String>]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same(a, b)))
}

/// Why a case's answer is wrong; `None` when it is right.
fn check(expect: &Expect, got: Result<(i64, Vec<Vec<String>>), String>) -> Option<String> {
    let (result_rows, rows) = match got {
        Ok(x) => x,
        Err(e) => return Some(format!("failed: {e}")),
    };
    let shown = |rows: &[Vec<String>]| -> String {
        let mut s = format!("{:?}", &rows[..rows.len().min(4)]);
        if rows.len() > 4 {
            s.push_str(&format!(" ... ({} rows)", rows.len()));
        }
        s
    };
    match expect {
        Expect::Done => None,
        Expect::Loaded(n) => {
            (result_rows != *n as i64).then(|| format!("loaded {result_rows} rows, not {n}"))
        }
        Expect::Rows(want) => (!same_rows(&rows, want))
            .then(|| format!("answered {}, not {}", shown(&rows), shown(want))),
        Expect::Unordered(want) => {
            let (mut g, mut w) = (rows.clone(), want.clone());
            g.sort();
            w.sort();
            (!same_rows(&g, &w))
                .then(|| format!("answered {}, not {} (in any order)", shown(&g), shown(&w)))
        }
        Expect::Column(i, want) => {
            let col: Vec<Vec<String>> = rows
                .iter()
                .map(|r| vec![r.get(*i).cloned().unwrap_or_default()])
                .collect();
            let want: Vec<Vec<String>> = want.iter().map(|v| vec![v.clone()]).collect();
            (!same_rows(&col, &want))
                .then(|| format!("column {i} is {}, not {}", shown(&col), shown(&want)))
        }
        Expect::Shape(n, cols) => {
            let got_cols = rows.first().map_or(0, Vec::len);
            (rows.len() != *n || got_cols != *cols).then(|| {
                format!(
                    "answered {} rows of {got_cols} columns, not {n} of {cols}",
                    rows.len()
                )
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_tutorial_and_the_sql_references_examples_run_on_redshift_local() {
    let stack = Stack::start(StackOptions {
        poll: false,
        prefix: "tut".into(),
        ..Default::default()
    })
    .await
    .expect("local stack");
    let s3 = stack.s3();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let db = tickit::Tickit::generate(2008);
    let (extra_files, extra_cases) = corpus::option_loads(&db, BUCKET);
    let files = db
        .files()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(extra_files);
    for (key, body) in files {
        s3.put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    let cases: Vec<Case> = corpus::cases(&db, BUCKET)
        .into_iter()
        .chain(extra_cases)
        .collect();
    let c = stack.redshift_data();
    let mut failures = Vec::new();
    for case in &cases {
        if let Some(why) = check(&case.expect, answer(&c, &case.sql).await) {
            failures.push((case.name.clone(), case.source, why));
        }
    }
    let passed = cases.len() - failures.len();
    println!("redshift_tutorial: {passed} of {} cases pass", cases.len());
    for (name, source, why) in &failures {
        println!("  FAIL {name} ({source}): {why}");
    }
    let mut problems = Vec::new();
    for (name, _, why) in &failures {
        if !KNOWN_GAPS.iter().any(|(gap, _)| gap == name) {
            problems.push(format!("{name}: {why}"));
        }
    }
    for (gap, _) in KNOWN_GAPS {
        assert!(
            cases.iter().any(|c| c.name == *gap),
            "KNOWN_GAPS names no case: {gap}"
        );
        if !failures.iter().any(|(name, _, _)| name == gap) {
            problems.push(format!(
                "{gap}: passes now; take it off KNOWN_GAPS and the README"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} unexpected outcomes:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
