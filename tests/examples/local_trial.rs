//! The local trial: the example state machine of `infra/statemachines/` on the local stack, running a small ELT
//! on PostgreSQL, with a timeline of each execution. Exits non-zero when a step did not behave as expected.
//! Run with `bash scripts/local-example.sh`.

use serde_json::json;
use std::time::{Duration, Instant};
use tasker_tests::stack::{Stack, StackOptions};
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tokio::select! {
        r = trial() => r,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: stopping the local stack");
            std::process::exit(130);
        }
    }
}

async fn trial() -> anyhow::Result<()> {
    let started = Instant::now();
    println!("starting the local stack (PostgreSQL, moto, redshift-local) ...");
    let stack = Stack::start(StackOptions {
        prefix: "local-trial".into(),
        ..Default::default()
    })
    .await?;
    println!("  endpoint (all AWS services): {}", stack.front.url());
    println!("  redshift-local:              {}", stack.redshift.url());
    println!(
        "  postgres:                    {}",
        stack.postgres.conninfo()
    );
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
        let history = stack
            .sfn()
            .get_execution_history()
            .execution_arn(&run.arn)
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
        for r in stack.records(&run.arn).await? {
            println!(
                "  record: {} id={} status={} {}",
                r.statement_name,
                r.statement_id.unwrap_or_default(),
                r.status.as_str(),
                r.error.unwrap_or_default()
            );
        }
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
    anyhow::ensure!(
        failures.is_empty(),
        "steps that did not behave as expected:\n{}",
        failures.join("\n")
    );
    println!("all steps behaved as expected");
    Ok(())
}
