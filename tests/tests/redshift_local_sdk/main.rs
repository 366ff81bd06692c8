//! Conformance of redshift-local, driven through aws-sdk-redshiftdata: every operation, every error shape,
//! `ClientToken` idempotency, real SQL errors, batch rollback, typed paged results, real cancellation and events.
//! One binary (one link, one stack per test), one file per concern; the builders every file uses live here.

use aws_sdk_redshiftdata::error::ProvideErrorMetadata;
use aws_sdk_redshiftdata::types::{
    ExecutionMode, Field, ResultFormatString, SessionStatusString, SqlParameter, StatusString,
};
use aws_sdk_redshiftdata::Client;
use serde_json::Value;
use std::time::{Duration, Instant};
use tasker_tests::stack::{
    execute_on_cluster, signed_as, Stack, StackOptions, CLUSTER, DATABASE, DB_USER,
};

mod cancel_and_events;
mod catalog;
mod errors;
mod ownership;
mod sessions;
mod statements;

async fn stack() -> Stack {
    Stack::start(StackOptions {
        poll: false,
        page_rows: 2,
        prefix: "conf".into(),
        ..Default::default()
    })
    .await
    .expect("local stack")
}

/// `ExecuteStatement` of `sql` on the local cluster, database and user.
fn exec(
    c: &Client,
    sql: &str,
) -> aws_sdk_redshiftdata::operation::execute_statement::builders::ExecuteStatementFluentBuilder {
    execute_on_cluster(c, sql)
}

/// A statement on a session: no target is named, the session's is used.
fn on_session(
    c: &Client,
    session: &str,
    sql: &str,
) -> aws_sdk_redshiftdata::operation::execute_statement::builders::ExecuteStatementFluentBuilder {
    c.execute_statement().sql(sql).session_id(session)
}

async fn wait_done(
    c: &Client,
    id: &str,
) -> aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput {
    tasker_tests::stack::statement_end(c, id).await.unwrap()
}

fn batch(
    c: &Client,
    sqls: &[&str],
) -> aws_sdk_redshiftdata::operation::batch_execute_statement::builders::BatchExecuteStatementFluentBuilder{
    c.batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .set_sqls(Some(sqls.iter().map(|s| s.to_string()).collect()))
}

fn param(name: &str, value: &str) -> SqlParameter {
    SqlParameter::builder()
        .name(name)
        .value(value)
        .build()
        .unwrap()
}
