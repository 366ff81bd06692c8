//! The Redshift Data API.

use crate::errors::port_error;
use async_trait::async_trait;
use aws_sdk_redshiftdata::types::{Field as SdkField, SqlParameter, SubStatementData};
use aws_smithy_types::DateTime as SdkDateTime;
use chrono::{DateTime, Utc};
use tasker_core::{
    ClusterAuth, Column, DataApi, DataApiStatus, Description, ExecuteCall, Executed, FaultKind,
    Field, PortError, ResultPage, Session, SqlText, Target,
};

/// The Data API through the SDK.
#[derive(Debug)]
pub struct RedshiftDataApi(pub aws_sdk_redshiftdata::Client);

fn time(t: Option<&SdkDateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn status(s: Option<&str>) -> Result<DataApiStatus, PortError> {
    s.and_then(DataApiStatus::parse).ok_or_else(|| {
        PortError::new(
            FaultKind::Rejected,
            "UnknownStatus",
            format!("unknown statement status {s:?}"),
        )
    })
}

fn sub(s: &SubStatementData) -> Result<Description, PortError> {
    let mut d = Description::new(s.id(), status(s.status().map(|x| x.as_str()))?);
    d.error = s.error().map(str::to_string);
    d.duration_ns = Some(s.duration());
    d.created_at = time(s.created_at());
    d.updated_at = time(s.updated_at());
    d.has_result_set = s.has_result_set();
    d.result_rows = Some(s.result_rows());
    d.result_size = Some(s.result_size());
    d.redshift_query_id = Some(s.redshift_query_id());
    d.query_string = s.query_string().map(str::to_string);
    Ok(d)
}

macro_rules! target {
    ($builder:expr, $target:expr) => {{
        match $target {
            Target::Cluster {
                identifier,
                database,
                auth,
            } => {
                let b = $builder.cluster_identifier(identifier).database(database);
                match auth {
                    ClusterAuth::DbUser(u) => b.db_user(u),
                    ClusterAuth::SecretArn(s) => b.secret_arn(s),
                }
            }
            Target::Workgroup {
                name,
                database,
                secret_arn,
            } => $builder
                .workgroup_name(name)
                .database(database)
                .set_secret_arn(secret_arn.clone()),
        }
    }};
}

/// The call limits of an `ExecuteStatement` that may wait `wait` seconds for its statement: the wait on top of
/// the usual limits (`crate::clients::call_timeouts`).
fn waiting(wait: Option<i32>) -> aws_sdk_redshiftdata::config::Builder {
    let extra = std::time::Duration::from_secs(u64::try_from(wait.unwrap_or(0)).unwrap_or(0));
    let base = crate::clients::call_timeouts();
    let add = |d: Option<std::time::Duration>| d.map(|d| d + extra);
    let mut timeouts = aws_config::timeout::TimeoutConfig::builder();
    timeouts
        .set_connect_timeout(base.connect_timeout())
        .set_operation_attempt_timeout(add(base.operation_attempt_timeout()))
        .set_operation_timeout(add(base.operation_timeout()));
    aws_sdk_redshiftdata::config::Builder::default().timeout_config(timeouts.build())
}

/// Sends an execute builder on its session (whose target is not named again) or on the deployment's target, with
/// the call limits of a wait of `wait` seconds: one place for both builders (single and batch are different SDK
/// types with the same methods).
macro_rules! send_waiting {
    ($builder:expr, $session:expr, $target:expr, $wait:expr) => {{
        match $session {
            Some(sid) => {
                $builder
                    .session_id(sid)
                    .customize()
                    .config_override(waiting($wait))
                    .send()
                    .await
            }
            None => {
                target!($builder, $target)
                    .customize()
                    .config_override(waiting($wait))
                    .send()
                    .await
            }
        }
    }};
}

#[async_trait]
impl DataApi for RedshiftDataApi {
    async fn execute(&self, call: &ExecuteCall) -> Result<Executed, PortError> {
        let wait = call.wait_seconds.map(|n| i32::try_from(n).unwrap_or(30));
        let (keep_alive, session_id) = match &call.session {
            Session::None => (None, None),
            Session::Start(seconds) => (Some(i32::try_from(*seconds).unwrap_or(86_400)), None),
            Session::Use(id) => (None, Some(id.clone())),
        };
        let (id, status, session) = match &call.sql {
            SqlText::Single(sql) => {
                let params: Vec<SqlParameter> = call
                    .parameters
                    .iter()
                    .map(|(n, v)| SqlParameter::builder().name(n).value(v).build())
                    .collect::<Result<_, _>>()
                    .map_err(|e| {
                        PortError::new(FaultKind::Rejected, "InvalidParameter", e.to_string())
                    })?;
                let b = self
                    .0
                    .execute_statement()
                    .sql(sql)
                    .statement_name(&call.statement_name)
                    .client_token(&call.statement_name)
                    .with_event(call.with_event)
                    .set_wait_time_seconds(wait)
                    .set_session_keep_alive_seconds(keep_alive)
                    .set_parameters((!params.is_empty()).then_some(params));
                let o = send_waiting!(b, &session_id, &call.target, wait).map_err(port_error)?;
                let status = o.status.map(|s| s.as_str().to_string());
                (o.id, status, o.session_id)
            }
            SqlText::Batch(sqls) => {
                let b = self
                    .0
                    .batch_execute_statement()
                    .set_sqls(Some(sqls.clone()))
                    .statement_name(&call.statement_name)
                    .client_token(&call.statement_name)
                    .with_event(call.with_event)
                    .set_wait_time_seconds(wait)
                    .set_session_keep_alive_seconds(keep_alive);
                let o = send_waiting!(b, &session_id, &call.target, wait).map_err(port_error)?;
                let status = o.status.map(|s| s.as_str().to_string());
                (o.id, status, o.session_id)
            }
        };
        let id = id.ok_or_else(|| {
            PortError::new(
                FaultKind::Retryable,
                "NoId",
                "the Data API returned no statement id",
            )
        })?;
        Ok(Executed {
            id,
            status: status.as_deref().and_then(DataApiStatus::parse),
            session_id: session,
        })
    }

    async fn describe(&self, id: &str) -> Result<Description, PortError> {
        let o = self
            .0
            .describe_statement()
            .id(id)
            .send()
            .await
            .map_err(port_error)?;
        let mut d = Description::new(o.id(), status(o.status().map(|s| s.as_str()))?);
        d.error = o.error().map(str::to_string);
        d.duration_ns = Some(o.duration());
        d.created_at = time(o.created_at());
        d.updated_at = time(o.updated_at());
        d.has_result_set = o.has_result_set();
        d.result_rows = Some(o.result_rows());
        d.result_size = Some(o.result_size());
        d.redshift_query_id = Some(o.redshift_query_id());
        d.redshift_pid = Some(o.redshift_pid());
        d.query_string = o.query_string().map(str::to_string);
        d.database = o.database().map(str::to_string);
        d.db_user = o.db_user().map(str::to_string);
        d.cluster_identifier = o.cluster_identifier().map(str::to_string);
        d.workgroup_name = o.workgroup_name().map(str::to_string);
        d.secret_arn = o.secret_arn().map(str::to_string);
        d.session_id = o.session_id().map(str::to_string);
        d.sub_statements = o
            .sub_statements()
            .iter()
            .map(sub)
            .collect::<Result<_, _>>()?;
        Ok(d)
    }

    async fn result_page(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<ResultPage, PortError> {
        let o = self
            .0
            .get_statement_result()
            .id(id)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(port_error)?;
        let columns = o
            .column_metadata()
            .iter()
            .map(|c| Column {
                name: c.name().unwrap_or_default().to_string(),
                type_name: c.type_name().map(str::to_string),
                nullable: Some(c.nullable()),
            })
            .collect();
        let records = o
            .records()
            .iter()
            .map(|row| {
                row.iter()
                    .map(|f| match f {
                        SdkField::IsNull(_) => Field::Null,
                        SdkField::BooleanValue(b) => Field::Bool(*b),
                        SdkField::LongValue(n) => Field::Long(*n),
                        SdkField::DoubleValue(d) => Field::Double(*d),
                        SdkField::StringValue(s) => Field::Text(s.clone()),
                        SdkField::BlobValue(b) => {
                            Field::Blob(aws_smithy_types::base64::encode(b.as_ref()))
                        }
                        _ => Field::Null,
                    })
                    .collect()
            })
            .collect();
        Ok(ResultPage {
            columns,
            records,
            total_rows: Some(o.total_num_rows()),
            next_token: o.next_token().map(str::to_string),
        })
    }

    async fn cancel(&self, id: &str) -> Result<bool, PortError> {
        let o = self
            .0
            .cancel_statement()
            .id(id)
            .send()
            .await
            .map_err(port_error)?;
        Ok(o.status().unwrap_or(false))
    }

    async fn find_by_name(&self, statement_name: &str) -> Result<Option<String>, PortError> {
        // `StatementName` is a prefix filter: keep only the exact name (ours are fixed-length, so a longer name
        // with our prefix cannot exist, but the check costs nothing). `Status` ALL includes ended statements.
        let o = self
            .0
            .list_statements()
            .statement_name(statement_name)
            .status(aws_sdk_redshiftdata::types::StatusString::All)
            .max_results(10)
            .send()
            .await
            .map_err(port_error)?;
        Ok(o.statements()
            .iter()
            .find(|s| s.statement_name() == Some(statement_name))
            .map(|s| s.id().to_string()))
    }
}
