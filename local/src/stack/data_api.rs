//! Statements and records straight on the peers: SQL on the local cluster, the state table's records, and
//! redshift-local's knobs.

use super::Stack;
use crate::names::{CLUSTER, DATABASE, DB_USER};
use serde_json::Value;
use std::time::Duration;

impl Stack {
    /// The records of an execution, newest first.
    pub async fn records(
        &self,
        execution_arn: &str,
    ) -> anyhow::Result<Vec<tasker_core::StatementRecord>> {
        use tasker_core::StateStore;
        Ok(self.state_table().by_execution(execution_arn).await?)
    }

    /// redshift-local's counters.
    pub async fn redshift_stats(&self) -> anyhow::Result<Value> {
        Ok(
            reqwest::get(format!("{}/_local/stats", self.redshift.url()))
                .await?
                .json()
                .await?,
        )
    }

    /// Waits until redshift-local has dropped `n` completion events (its fault setting), so that a test knows
    /// the statement ended without its event.
    pub async fn events_dropped(&self, n: u64, timeout: Duration) -> anyhow::Result<()> {
        crate::eventually(&format!("{n} events dropped"), timeout, || async {
            let stats = self.redshift_stats().await.map_err(|e| e.to_string())?;
            (stats["events"]["dropped"] == n)
                .then_some(())
                .ok_or(stats.to_string())
        })
        .await
    }

    /// Sets redshift-local's event faults.
    pub fn event_faults(&self, faults: redshift_local::EventFaults) {
        self.redshift.engine.set_faults(faults);
    }
}

/// Waits until a Data API statement has ended (`FINISHED`, `FAILED` or `ABORTED`); its description.
pub async fn statement_end(
    c: &aws_sdk_redshiftdata::Client,
    id: &str,
) -> anyhow::Result<aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput> {
    use aws_sdk_redshiftdata::types::StatusString;
    crate::eventually(
        &format!("statement {id} ends"),
        Duration::from_secs(30),
        || async {
            let d = c
                .describe_statement()
                .id(id)
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            match d.status() {
                Some(StatusString::Finished | StatusString::Failed | StatusString::Aborted) => {
                    Ok(d)
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

/// An `ExecuteStatement` of `sql` on the local cluster, database and user, for a test to add to and send.
pub fn execute_on_cluster(
    c: &aws_sdk_redshiftdata::Client,
    sql: &str,
) -> aws_sdk_redshiftdata::operation::execute_statement::builders::ExecuteStatementFluentBuilder {
    c.execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .sql(sql)
}

/// Runs one statement on the local cluster to its end; its description (the SDK's error text if refused).
pub async fn run_statement(
    c: &aws_sdk_redshiftdata::Client,
    sql: &str,
) -> Result<aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput, String> {
    let started = execute_on_cluster(c, sql)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    statement_end(c, started.id().unwrap_or_default())
        .await
        .map_err(|e| e.to_string())
}

/// Runs one statement on the local cluster to its end: its description when it `FINISHED`, otherwise its `Error`
/// text (or the SDK's, if it was refused): what the SQL tests compare.
pub async fn run_finished(
    c: &aws_sdk_redshiftdata::Client,
    sql: &str,
) -> Result<aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput, String> {
    let d = run_statement(c, sql).await?;
    match d.status() {
        Some(aws_sdk_redshiftdata::types::StatusString::Finished) => Ok(d),
        _ => Err(d.error().unwrap_or("no error given").to_string()),
    }
}
