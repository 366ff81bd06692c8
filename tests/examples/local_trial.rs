//! The local trial: the example state machine of `infra/statemachines/` on the local stack, running a small ELT
//! on PostgreSQL, with a timeline of each execution. Exits non-zero when a step did not behave as expected.
//! Run with `bash scripts/local-example.sh [options]`:
//!
//! - `--binaries DIR`: serve the functions with the binaries in DIR behind a local Lambda Runtime API (the
//!   script passes the release build); without it, the handlers run in-process.
//! - `--definition FILE [--input JSON]`: run your own state machine (with `${StarterFunctionArn}`-style
//!   substitutions) once with that input, instead of the example ELT.
//! - `--keep-up`: after the run, keep the stack up, print its endpoints and environment, and wait for Ctrl-C.
//!
//! Ctrl-C at any point stops every process it started and removes every temporary directory.

use serde_json::json;
use std::time::{Duration, Instant};
use tasker_tests::stack::{Stack, StackOptions, CLUSTER, DATABASE, DB_USER, ROLE};
use tasker_tests::workspace_root;

/// One step of the trial: the SQL, its heartbeat budget, and the execution end it must reach.
struct Step {
    what: &'static str,
    sql: &'static str,
    heartbeat: u32,
    expect: (&'static str, Option<&'static str>),
}

const STEPS: &[Step] = &[
    Step { what: "create a schema", sql: "create schema etl", heartbeat: 30, expect: ("SUCCEEDED", None) },
    Step { what: "create a table", sql: "create table etl.sales(day date, amount numeric(10,2))", heartbeat: 30, expect: ("SUCCEEDED", None) },
    Step {
        what: "load rows",
        sql: "insert into etl.sales select date '2026-11-01' + g % 7, g * 1.25 from generate_series(1, 1000) g",
        heartbeat: 30,
        expect: ("SUCCEEDED", None),
    },
    Step {
        what: "create a stored procedure",
        sql: "create procedure etl.load_day() language sql as $$ create table if not exists etl.daily as select day, sum(amount) total from etl.sales group by day $$",
        heartbeat: 30,
        expect: ("SUCCEEDED", None),
    },
    Step { what: "call the procedure", sql: "call etl.load_day()", heartbeat: 30, expect: ("SUCCEEDED", None) },
    Step { what: "a failing statement (Catch FAILED)", sql: "select * from etl.missing", heartbeat: 30, expect: ("FAILED", Some("SqlFailed")) },
    Step {
        what: "a slow query past its heartbeat (cancelSlowQuery)",
        sql: "select pg_sleep(60)",
        heartbeat: 2,
        expect: ("FAILED", Some("SqlTimedOut")),
    },
];

/// The command line.
#[derive(Default)]
struct Options {
    binaries: Option<std::path::PathBuf>,
    definition: Option<std::path::PathBuf>,
    input: Option<String>,
    keep_up: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--binaries" => o.binaries = Some(value()?.into()),
            "--definition" => o.definition = Some(value()?.into()),
            "--input" => o.input = Some(value()?),
            "--keep-up" => o.keep_up = true,
            other => anyhow::bail!(
                "unknown option {other}: use --binaries DIR, --definition FILE [--input JSON], --keep-up"
            ),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    // The trial future (and the stack in it) is dropped before exiting, so everything stops and is removed.
    let finished = tokio::select! {
        r = trial(&options) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    match finished {
        Some(r) => r,
        None => {
            eprintln!(
                "interrupted: the local stack is stopped and its temporary directories removed"
            );
            std::process::exit(130);
        }
    }
}

async fn trial(options: &Options) -> anyhow::Result<()> {
    let started = Instant::now();
    println!("starting the local stack (PostgreSQL, moto, redshift-local) ...");
    let stack = Stack::start(StackOptions {
        prefix: "local-trial".into(),
        binaries: options.binaries.clone(),
        ..Default::default()
    })
    .await?;
    match &options.binaries {
        Some(dir) => println!(
            "  functions: the binaries of {} behind a local Lambda Runtime API",
            dir.display()
        ),
        None => println!("  functions: in-process handlers"),
    }
    println!("  endpoint (all AWS services): {}", stack.front.url());
    println!("  redshift-local:              {}", stack.redshift.url());
    println!(
        "  postgres:                    {}",
        stack.postgres.conninfo()
    );
    if let Some(path) = &options.definition {
        let definition = std::fs::read_to_string(path)?;
        let sm = stack.create_state_machine("yours", &definition).await?;
        let input: serde_json::Value =
            serde_json::from_str(options.input.as_deref().unwrap_or("{}"))?;
        println!("== your state machine {} with {input}", path.display());
        let run = stack.run(&sm, input, Duration::from_secs(600)).await?;
        timeline(&stack, &run.arn).await?;
        println!(
            "  => {} {}\n  output: {}",
            run.status,
            run.error.clone().unwrap_or_default(),
            run.output
        );
        keep_up(&stack, &sm, options).await?;
        anyhow::ensure!(
            run.status == "SUCCEEDED",
            "your execution ended {}",
            run.status
        );
        return Ok(());
    }
    let definition =
        std::fs::read_to_string(workspace_root().join("infra/statemachines/example.asl.json"))?;
    let sm = stack.create_state_machine("example", &definition).await?;
    println!("  state machine:               {sm}\n");
    let mut failures = Vec::new();
    for step in STEPS {
        println!("== {}: {}", step.what, step.sql);
        let run = stack
            .run(
                &sm,
                json!({"sql": step.sql, "heartbeatSeconds": step.heartbeat}),
                Duration::from_secs(90),
            )
            .await?;
        timeline(&stack, &run.arn).await?;
        let outcome = (run.status.as_str(), run.error.as_deref());
        let ok = outcome == step.expect;
        println!(
            "  => {} {}  {}\n",
            run.status,
            run.error.clone().unwrap_or_default(),
            if ok { "as expected" } else { "UNEXPECTED" }
        );
        if !ok {
            failures.push(format!(
                "{}: got {outcome:?}, expected {:?}",
                step.what, step.expect
            ));
        }
    }
    // A batch in one transaction and a report with a few result rows: the same SQL step with other payload fields.
    for (i, (what, payload)) in [
        (
            "a batch in one transaction",
            json!({"sqlStatements": ["create table etl.audit(n int)", "insert into etl.audit select count(*) from etl.daily"]}),
        ),
        (
            "a report returning rows (resultRows: 3)",
            json!({"sqlStatement": "select day::text as day, total from etl.daily order by day", "resultRows": 3}),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        println!("== {what}: {payload}");
        let sm = stack.sql_machine(&format!("elt-step-{i}"), payload).await?;
        let run = stack.run(&sm, json!({}), Duration::from_secs(90)).await?;
        timeline(&stack, &run.arn).await?;
        let ok = run.status == "SUCCEEDED";
        println!(
            "  output: {}\n  => {}  {}\n",
            run.output,
            run.status,
            if ok { "as expected" } else { "UNEXPECTED" }
        );
        if !ok {
            failures.push(format!("{what}: {}", run.status));
        }
    }
    let db = stack.sql().await?;
    let rows = db
        .query(
            "select day::text, total::text from etl.daily order by day",
            &[],
        )
        .await?;
    println!("etl.daily after the run ({} rows):", rows.len());
    for r in rows.iter().take(7) {
        println!("  {} {}", r.get::<_, String>(0), r.get::<_, String>(1));
    }
    println!("\ntook {:.1}s", started.elapsed().as_secs_f64());
    keep_up(&stack, &sm, options).await?;
    anyhow::ensure!(
        failures.is_empty(),
        "steps that did not behave as expected:\n{}",
        failures.join("\n")
    );
    println!("all steps behaved as expected");
    Ok(())
}

/// Each execution's timeline from Step Functions' history, then the state table's records.
async fn timeline(stack: &Stack, execution_arn: &str) -> anyhow::Result<()> {
    let history = stack
        .sfn()
        .get_execution_history()
        .execution_arn(execution_arn)
        .send()
        .await?;
    let t0 = history
        .events()
        .first()
        .map(|e| e.timestamp().secs() as f64 + f64::from(e.timestamp().subsec_nanos()) / 1e9);
    for e in history.events() {
        let t = e.timestamp().secs() as f64 + f64::from(e.timestamp().subsec_nanos()) / 1e9
            - t0.unwrap_or(0.0);
        let name = e
            .state_entered_event_details()
            .map(|d| d.name().to_string())
            .unwrap_or_default();
        let detail = e
            .task_failed_event_details()
            .map(|d| d.error().unwrap_or_default().to_string())
            .or_else(|| {
                e.execution_failed_event_details()
                    .map(|d| d.error().unwrap_or_default().to_string())
            })
            .unwrap_or_default();
        println!("  {t:7.3}s  {:<24} {name}{detail}", e.r#type().as_str());
    }
    // A cancelled statement's record settles when its ABORTED event arrives, a moment after the execution ended.
    let records = tasker_tests::eventually(
        "the execution's records settle",
        std::time::Duration::from_secs(30),
        || async {
            let records = stack
                .records(execution_arn)
                .await
                .map_err(|e| e.to_string())?;
            if records.iter().all(|r| r.status.is_settled()) {
                Ok(records)
            } else {
                Err(format!("{records:?}"))
            }
        },
    )
    .await?;
    for r in records {
        println!(
            "  record: {} id={} status={}{} {}",
            r.statement_name,
            r.statement_id.unwrap_or_default(),
            r.status.as_str(),
            if r.cancel_requested_at.is_some() {
                " (cancel requested)"
            } else {
                ""
            },
            r.error.unwrap_or_default()
        );
    }
    Ok(())
}

/// With `--keep-up`: the endpoints and environment to point the AWS CLI or your own tests at, until Ctrl-C.
async fn keep_up(stack: &Stack, state_machine: &str, options: &Options) -> anyhow::Result<()> {
    if !options.keep_up {
        return Ok(());
    }
    println!("\nthe local stack stays up until Ctrl-C. Point the AWS CLI or your tests at it:");
    println!("  export AWS_ENDPOINT_URL={}", stack.front.url());
    println!(
        "  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID={ROLE} AWS_SECRET_ACCESS_KEY=test"
    );
    println!(
        "  # ({ROLE} is the functions' role: the Data API shows a statement only to the identity that ran it)"
    );
    println!("  # the functions' own environment:");
    println!(
        "  export TABLE_NAME={} STATEMENT_PREFIX={}",
        stack.table,
        stack.settings.prefix.as_str()
    );
    println!("  export CLUSTER_IDENTIFIER={CLUSTER} DATABASE={DATABASE} DB_USER={DB_USER}");
    println!("  state machine: {state_machine}");
    println!("  redshift-local (Data API): {}", stack.redshift.url());
    println!("  postgres: {}", stack.postgres.conninfo());
    println!("  e.g. aws stepfunctions start-execution --state-machine-arn {state_machine} --input '{{\"sql\": \"select 1\", \"heartbeatSeconds\": 60}}'");
    std::future::pending::<()>().await;
    Ok(())
}
