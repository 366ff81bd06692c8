//! What a run of `tasker-local` tells its reader: prose for a person (the timeline of each execution) or, with
//! `--report json`, one JSON document on stdout that a script can check (the prose then goes to stderr).

use serde::Serialize;
use serde_json::Value;

/// Where the prose goes: stdout for a person, stderr when stdout carries the JSON report.
#[derive(Debug, Clone, Copy)]
pub struct Narrator {
    to_stderr: bool,
}

impl Narrator {
    /// Prose to stdout, or to stderr when `json_report` keeps stdout for the report.
    pub fn new(json_report: bool) -> Self {
        Narrator {
            to_stderr: json_report,
        }
    }

    /// One line of prose.
    pub fn say(&self, line: impl std::fmt::Display) {
        if self.to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
}

/// One execution's result: what a check needs without parsing prose.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// The step's description.
    pub name: String,
    /// The execution's ARN.
    pub execution_arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// The execution's error, when it failed.
    pub error: Option<String>,
    /// What the step had to end with (`status`, `error`), for the trial's own steps.
    pub expected: Option<(String, Option<String>)>,
    /// Whether it did (always true when nothing was expected and it succeeded).
    pub as_expected: bool,
    /// The states entered, in order (e.g. `RunSql`, `cancelSlowQuery`, `SqlTimedOut`).
    pub states: Vec<String>,
    /// The execution's output.
    pub output: Value,
    /// The statements' records, settled.
    pub records: Vec<RecordReport>,
}

/// A statement record, as the report shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordReport {
    /// The statement name (`<prefix>-<digest>`).
    pub statement_name: String,
    /// The Data API's statement id, once started.
    pub statement_id: Option<String>,
    /// The record's status (`FINISHED`, `FAILED`, `ABORTED`, `ORPHANED`, ...).
    pub status: String,
    /// Whether a canceller asked to cancel it.
    pub cancel_requested: bool,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// `trial` or `run`.
    pub command: String,
    /// Every step behaved as expected.
    pub ok: bool,
    /// One entry per execution.
    pub steps: Vec<StepReport>,
    /// Wall time of the whole run, stack start included.
    pub took_seconds: f64,
}
