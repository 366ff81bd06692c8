//! `tasker-local`: sfn-redshift-tasker on your laptop, no AWS account needed. PostgreSQL stands in for Redshift
//! (through redshift-local, which speaks the Data API and rewrites Redshift's SQL), moto for the AWS services, and
//! the three functions run for real. Ctrl-C at any point stops every process it started and removes every
//! temporary directory.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use tasker_local::report::Narrator;
use tasker_local::trial::{self, RunOptions};

/// sfn-redshift-tasker on a local stack: the example ELT, your own state machine, or the stack for your tools.
#[derive(Debug, Parser)]
#[command(name = "tasker-local", version)]
struct Cli {
    /// Serve the functions with the `starter`, `completer` and `canceller` binaries in DIR behind a local Lambda
    /// Runtime API (as Lambda runs them); without it they run in-process.
    #[arg(long, global = true, value_name = "DIR")]
    binaries: Option<PathBuf>,
    /// `json`: print one machine-readable report on stdout (a result per step); the prose goes to stderr.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    report: Option<ReportFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    /// One JSON document.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the example ELT through the example state machine (the default): each step's timeline, and whether
    /// it ended as it should.
    Trial,
    /// Run your own state machine once. `${StarterFunctionArn}`, `${CompleterFunctionArn}` and
    /// `${CancellerFunctionArn}` in it are replaced as the template's DefinitionSubstitutions do.
    Run {
        /// The state machine definition (Amazon States Language, JSON).
        #[arg(long, value_name = "FILE")]
        definition: PathBuf,
        /// The execution's input.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        input: String,
    },
    /// Start the stack with the example state machine, print its endpoints and environment, and keep it up until
    /// Ctrl-C.
    Up,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let json = matches!(cli.report, Some(ReportFormat::Json));
    let options = RunOptions {
        binaries: cli.binaries.clone(),
        narrator: Narrator::new(json),
    };
    // The run's future (and the stack in it) is dropped before exiting, so everything stops and is removed.
    let finished = tokio::select! {
        r = run(&cli, &options) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    let Some(report) = finished else {
        eprintln!("interrupted: the local stack is stopped and its temporary directories removed");
        std::process::exit(130);
    };
    let Some(report) = report? else {
        return Ok(());
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    anyhow::ensure!(
        report.ok,
        "{} of {} steps did not end as expected",
        report.steps.iter().filter(|s| !s.as_expected).count(),
        report.steps.len()
    );
    Ok(())
}

async fn run(
    cli: &Cli,
    options: &RunOptions,
) -> anyhow::Result<Option<tasker_local::report::RunReport>> {
    match &cli.command {
        None | Some(Command::Trial) => trial::trial(options).await.map(Some),
        Some(Command::Run { definition, input }) => {
            trial::run_definition(options, definition, input)
                .await
                .map(Some)
        }
        Some(Command::Up) => trial::up(options).await.map(|()| None),
    }
}
