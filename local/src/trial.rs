//! The three things `tasker-local` does on a fresh local stack: the trial (the example state machine of
//! `infra/statemachines/` running a small ELT), a user's own state machine once, and the stack kept up for other
//! tools. Each execution is shown as a timeline from Step Functions' history and reported per step.

use crate::report::{Narrator, RecordReport, RunReport, StepReport};
use crate::stack::{Stack, StackOptions, CLUSTER, DATABASE, DB_USER, ROLE};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One step of the trial: the example state machine's input, and the execution end it must reach.
struct Step {
    what: &'static str,
    sql: &'static str,
    heartbeat: u32,
    expect: (&'static str, Option<&'static str>),
}

/// Where the trial puts its CSV in the local S3, and the role its `COPY` names (checked for form only).
const BUCKET: &str = "tasker-local-trial";
const SALES_PREFIX: &str = "sales/";

/// The example ELT in SQL that runs unchanged on Redshift, one execution of the example state machine per step,
/// except the slow step: Redshift has no `pg_sleep`, and the trial needs a statement that outlives its heartbeat.
const STEPS: &[Step] = &[
    Step { what: "create a schema", sql: "create schema if not exists etl", heartbeat: 30, expect: ("SUCCEEDED", None) },
    Step {
        what: "create a table with DISTKEY and SORTKEY",
        sql: "create table etl.sales (day date not null, region varchar(8) not null, amount decimal(10,2) not null) \
              diststyle key distkey(region) compound sortkey(day, region)",
        heartbeat: 30,
        expect: ("SUCCEEDED", None),
    },
    Step {
        what: "load rows with COPY from S3",
        sql: "copy etl.sales from 's3://tasker-local-trial/sales/' \
              iam_role 'arn:aws:iam::123456789012:role/tasker-local-copy' csv ignoreheader 1",
        heartbeat: 30,
        expect: ("SUCCEEDED", None),
    },
    Step {
        what: "create a stored procedure",
        sql: "create or replace procedure etl.load_daily() as $$ \
              begin \
                drop table if exists etl.daily; \
                create table etl.daily as \
                  select day, count(*) as sales, sum(amount) as total, getdate() as loaded_at \
                  from etl.sales group by day; \
              end; \
              $$ language plpgsql",
        heartbeat: 30,
        expect: ("SUCCEEDED", None),
    },
    Step { what: "call the procedure", sql: "call etl.load_daily()", heartbeat: 30, expect: ("SUCCEEDED", None) },
    Step { what: "a failing statement (Catch FAILED)", sql: "select * from etl.missing", heartbeat: 30, expect: ("FAILED", Some("SqlFailed")) },
    Step {
        what: "a slow query past its heartbeat (cancelSlowQuery; local only: pg_sleep is PostgreSQL's)",
        sql: "select pg_sleep(60)",
        heartbeat: 2,
        expect: ("FAILED", Some("SqlTimedOut")),
    },
];

/// The CSV the `COPY` step loads: a header, then 1,000 sales over a week and three regions.
fn sales_csv() -> String {
    let mut csv = String::from("day,region,amount\n");
    for g in 1..=1000u32 {
        let day = 1 + g % 7;
        let region = ["eu", "us", "apac"][(g % 3) as usize];
        let amount = f64::from(g) * 1.25;
        csv.push_str(&format!("2026-11-0{day},{region},{amount:.2}\n"));
    }
    csv
}

/// Puts the CSV in the local S3 (moto's), where the `COPY` step reads it.
async fn upload_sales(stack: &Stack) -> anyhow::Result<()> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(BUCKET).send().await?;
    s3.put_object()
        .bucket(BUCKET)
        .key(format!("{SALES_PREFIX}2026-11.csv"))
        .body(sales_csv().into_bytes().into())
        .send()
        .await?;
    Ok(())
}

/// How the stack serves the functions and how the run is told.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Serve the functions with the binaries in this directory behind a local Lambda Runtime API; in-process
    /// handlers otherwise.
    pub binaries: Option<PathBuf>,
    /// Where the prose goes.
    pub narrator: Narrator,
}

/// Starts the local stack and tells where everything is.
async fn start(options: &RunOptions) -> anyhow::Result<Stack> {
    let say = options.narrator;
    say.say("starting the local stack (PostgreSQL, moto, redshift-local) ...");
    if let Some(dir) = &options.binaries {
        for f in ["starter", "completer", "canceller"] {
            anyhow::ensure!(
                dir.join(f).is_file(),
                "--binaries {}: no `{f}` binary there (build them with `cargo build --release --bins`)",
                dir.display()
            );
        }
    }
    let stack = Stack::start(StackOptions {
        prefix: "local-trial".into(),
        binaries: options.binaries.clone(),
        ..Default::default()
    })
    .await?;
    match &options.binaries {
        Some(dir) => say.say(format!(
            "  functions: the binaries of {} behind a local Lambda Runtime API",
            dir.display()
        )),
        None => say.say("  functions: in-process handlers"),
    }
    say.say(format!(
        "  endpoint (all AWS services): {}",
        stack.front.url()
    ));
    say.say(format!(
        "  redshift-local:              {}",
        stack.redshift.url()
    ));
    say.say(format!(
        "  postgres:                    {}",
        stack.postgres.conninfo()
    ));
    Ok(stack)
}

/// The example ELT; `Ok` holds the report, whose `ok` says whether every step behaved as expected.
pub async fn trial(options: &RunOptions) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let say = options.narrator;
    let stack = start(options).await?;
    // The template's ExampleStateMachine, deployed with its DefinitionSubstitutions.
    let sm = stack
        .deployment
        .output("ExampleStateMachineArn")?
        .to_string();
    say.say(format!("  state machine:               {sm}"));
    upload_sales(&stack).await?;
    say.say(format!(
        "  local S3:                    s3://{BUCKET}/{SALES_PREFIX}2026-11.csv (1,000 rows)\n"
    ));
    let mut steps = Vec::new();
    for step in STEPS {
        say.say(format!("== {}: {}", step.what, step.sql));
        let input = json!({"sql": step.sql, "heartbeatSeconds": step.heartbeat});
        let expect = (step.expect.0.to_string(), step.expect.1.map(str::to_string));
        steps.push(execute(&stack, &sm, step.what, input, Some(expect), say).await?);
    }
    // A batch in one transaction and a report with a few result rows: the same SQL step with other payload fields.
    for (i, (what, payload)) in [
        (
            "a batch in one transaction",
            json!({"sqlStatements": ["create table etl.audit (days int, loaded_at timestamp)", "insert into etl.audit select count(*), getdate() from etl.daily"]}),
        ),
        (
            "a report returning rows (resultRows: 3)",
            json!({"sqlStatement": "select top 3 to_char(day, 'YYYY-MM-DD') as day, sales, total from etl.daily order by day", "resultRows": 3}),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        say.say(format!("== {what}: {payload}"));
        let step_sm = stack.sql_machine(&format!("elt-step-{i}"), payload).await?;
        let expect = Some(("SUCCEEDED".to_string(), None));
        steps.push(execute(&stack, &step_sm, what, json!({}), expect, say).await?);
    }
    let db = stack.sql().await?;
    let rows = db
        .query(
            "select day::text, sales::text, total::text from etl.daily order by day",
            &[],
        )
        .await?;
    say.say(format!("etl.daily after the run ({} rows):", rows.len()));
    for r in rows.iter().take(7) {
        say.say(format!(
            "  {}  {:>3} sales  {:>9}",
            r.get::<_, String>(0),
            r.get::<_, String>(1),
            r.get::<_, String>(2)
        ));
    }
    let report = RunReport {
        command: "trial".into(),
        ok: steps.iter().all(|s| s.as_expected),
        steps,
        took_seconds: started.elapsed().as_secs_f64(),
    };
    say.say(format!("\ntook {:.1}s", report.took_seconds));
    if report.ok {
        say.say("all steps behaved as expected");
    } else {
        for s in report.steps.iter().filter(|s| !s.as_expected) {
            say.say(format!(
                "UNEXPECTED: {}: got {} {:?}, expected {:?}",
                s.name, s.status, s.error, s.expected
            ));
        }
    }
    Ok(report)
}

/// A user's state machine (with `${StarterFunctionArn}`-style substitutions), once with `input`.
pub async fn run_definition(
    options: &RunOptions,
    path: &Path,
    input: &str,
) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let definition = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--definition {}: {e}", path.display()))?;
    serde_json::from_str::<Value>(&definition).map_err(|e| {
        anyhow::anyhow!(
            "--definition {}: not JSON (Amazon States Language): {e}",
            path.display()
        )
    })?;
    let input: Value =
        serde_json::from_str(input).map_err(|e| anyhow::anyhow!("--input is not JSON: {e}"))?;
    let stack = start(options).await?;
    let sm = stack
        .create_state_machine("yours", &definition)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "Step Functions rejected {}: {}",
                path.display(),
                rejection(&e)
            )
        })?;
    options.narrator.say(format!(
        "== your state machine {} with {input}",
        path.display()
    ));
    let step = execute(
        &stack,
        &sm,
        "your state machine",
        input,
        None,
        options.narrator,
    )
    .await?;
    options.narrator.say(format!("  output: {}", step.output));
    Ok(RunReport {
        command: "run".into(),
        ok: step.as_expected,
        steps: vec![step],
        took_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The deployed stack with the example state machine, kept up until Ctrl-C, with the endpoints and environment to point
/// the AWS CLI or other tools at.
pub async fn up(options: &RunOptions) -> anyhow::Result<()> {
    let stack = start(options).await?;
    // The template's ExampleStateMachine, deployed with its DefinitionSubstitutions.
    let sm = stack
        .deployment
        .output("ExampleStateMachineArn")?
        .to_string();
    let say = options.narrator;
    say.say("\nthe local stack stays up until Ctrl-C. Point the AWS CLI or your tests at it:");
    say.say(format!("  export AWS_ENDPOINT_URL={}", stack.front.url()));
    say.say(format!(
        "  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID={ROLE} AWS_SECRET_ACCESS_KEY=test"
    ));
    say.say(format!(
        "  # ({ROLE} is the functions' role: the Data API shows a statement only to the identity that ran it)"
    ));
    say.say("  # the functions' own environment:");
    say.say(format!(
        "  export TABLE_NAME={} STATEMENT_PREFIX={}",
        stack.table,
        stack.settings.prefix.as_str()
    ));
    say.say(format!(
        "  export CLUSTER_IDENTIFIER={CLUSTER} DATABASE={DATABASE} DB_USER={DB_USER}"
    ));
    say.say(format!("  state machine: {sm}"));
    say.say(format!(
        "  redshift-local (Data API): {}",
        stack.redshift.url()
    ));
    say.say(format!("  postgres: {}", stack.postgres.conninfo()));
    say.say(format!("  e.g. aws stepfunctions start-execution --state-machine-arn {sm} --input '{{\"sql\": \"select 1\", \"heartbeatSeconds\": 60}}'"));
    std::future::pending::<()>().await;
    Ok(())
}

/// Runs one execution, shows its timeline and records, and reports it against `expect`.
async fn execute(
    stack: &Stack,
    state_machine: &str,
    what: &str,
    input: Value,
    expect: Option<(String, Option<String>)>,
    say: Narrator,
) -> anyhow::Result<StepReport> {
    let run = stack
        .run(state_machine, input, Duration::from_secs(600))
        .await?;
    let states = timeline(stack, &run.arn, say).await?;
    let records = settled_records(stack, &run.arn, say).await?;
    let as_expected = match &expect {
        Some((status, error)) => run.status == *status && run.error == *error,
        None => run.status == "SUCCEEDED",
    };
    say.say(format!(
        "  => {} {}  {}\n",
        run.status,
        run.error.clone().unwrap_or_default(),
        if as_expected {
            "as expected"
        } else {
            "UNEXPECTED"
        }
    ));
    Ok(StepReport {
        name: what.to_string(),
        execution_arn: run.arn,
        status: run.status,
        error: run.error,
        expected: expect,
        as_expected,
        states,
        output: run.output,
        records,
    })
}

/// Prints an execution's timeline from Step Functions' history; the states it entered.
async fn timeline(
    stack: &Stack,
    execution_arn: &str,
    say: Narrator,
) -> anyhow::Result<Vec<String>> {
    let history = stack
        .sfn()
        .get_execution_history()
        .execution_arn(execution_arn)
        .max_results(1000)
        .send()
        .await?;
    let seconds = |e: &aws_sdk_sfn::types::HistoryEvent| {
        e.timestamp().secs() as f64 + f64::from(e.timestamp().subsec_nanos()) / 1e9
    };
    let t0 = history.events().first().map(seconds).unwrap_or(0.0);
    let mut states = Vec::new();
    for e in history.events() {
        let name = e
            .state_entered_event_details()
            .map(|d| d.name().to_string())
            .unwrap_or_default();
        if !name.is_empty() {
            states.push(name.clone());
        }
        let detail = e
            .task_failed_event_details()
            .map(|d| d.error().unwrap_or_default().to_string())
            .or_else(|| {
                e.execution_failed_event_details()
                    .map(|d| d.error().unwrap_or_default().to_string())
            })
            .unwrap_or_default();
        say.say(format!(
            "  {:7.3}s  {:<24} {name}{detail}",
            seconds(e) - t0,
            e.r#type().as_str()
        ));
    }
    Ok(states)
}

/// The execution's records once settled (a cancelled statement's record settles when its ABORTED event
/// arrives, a moment after the execution ended), printed.
async fn settled_records(
    stack: &Stack,
    execution_arn: &str,
    say: Narrator,
) -> anyhow::Result<Vec<RecordReport>> {
    let records = crate::eventually(
        "the execution's records settle",
        Duration::from_secs(30),
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
    Ok(records
        .into_iter()
        .map(|r| {
            let cancel_requested = r.cancel_requested_at.is_some();
            say.say(format!(
                "  record: {} id={} status={}{} {}",
                r.statement_name,
                r.statement_id.clone().unwrap_or_default(),
                r.status.as_str(),
                if cancel_requested {
                    " (cancel requested)"
                } else {
                    ""
                },
                r.error.clone().unwrap_or_default()
            ));
            RecordReport {
                statement_name: r.statement_name,
                statement_id: r.statement_id,
                status: r.status.as_str().to_string(),
                cancel_requested,
            }
        })
        .collect())
}

/// Step Functions' own words for a refused definition (its error code and message), else the error chain.
fn rejection(e: &anyhow::Error) -> String {
    use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_sfn::operation::create_state_machine::CreateStateMachineError;
    match e.downcast_ref::<SdkError<CreateStateMachineError>>() {
        Some(SdkError::ServiceError(s)) => match s.err().code().filter(|c| !c.is_empty()) {
            Some(code) => format!("{code}: {}", s.err().message().unwrap_or_default()),
            None => s.err().message().unwrap_or_default().to_string(),
        },
        _ => format!("{e:#}"),
    }
}
