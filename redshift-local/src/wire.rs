//! The Data API's JSON shapes: the API layer's half that renders the engine's, the sessions' and the catalog's
//! typed answers (and errors) as the service model spells them, field names, types and omitted optionals
//! included, so `aws-sdk-redshiftdata` and boto3 parse them as they parse the service's. Each reply is a
//! `Serialize` struct named after the model's shape; an absent optional is omitted, as the service omits it.

mod csv;

use crate::engine::{
    Description, Lifecycle, ResultPage, SessionView, StatementSummary, StatementView, Stats,
    SubStatementView, Submitted, Target,
};
use crate::error::ApiError;
use crate::paging::Listing;
use crate::records::records;
use crate::values::Column;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

/// The reply's JSON (every shape here serialises: strings, numbers, booleans and nested shapes only).
fn to_json(reply: impl Serialize) -> Value {
    serde_json::to_value(reply).expect("a reply shape serialises")
}

/// A time as the model's timestamps go on the wire: seconds since the epoch, with milliseconds.
fn epoch<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(t.timestamp_millis() as f64 / 1000.0)
}

/// [`epoch`] of an optional time (only called when present).
fn epoch_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => epoch(t, s),
        None => s.serialize_none(),
    }
}

/// An error reply's body: `__type` for the SDKs, the message under both spellings clients read.
pub(crate) fn error(e: &ApiError) -> Value {
    let mut body = json!({"__type": e.code, "message": e.message, "Message": e.message});
    if let Some(id) = &e.resource_id {
        body["ResourceId"] = json!(id);
    }
    body
}

/// The target a statement or session names (absent fields omitted, as the service does).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TargetOut<'a> {
    database: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_identifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workgroup_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    db_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_arn: Option<&'a str>,
}

impl<'a> TargetOut<'a> {
    fn of(t: &'a Target) -> Self {
        TargetOut {
            database: &t.database,
            cluster_identifier: t.cluster_identifier.as_deref(),
            workgroup_name: t.workgroup_name.as_deref(),
            db_user: t.db_user.as_deref(),
            secret_arn: t.secret_arn.as_deref(),
        }
    }
}

/// `ExecuteStatementOutput` / `BatchExecuteStatementOutput`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SubmittedOut<'a> {
    id: &'a str,
    #[serde(serialize_with = "epoch")]
    created_at: DateTime<Utc>,
    #[serde(flatten)]
    target: TargetOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_result_set: Option<bool>,
}

/// `ExecuteStatement`'s and `BatchExecuteStatement`'s reply; with `WaitTimeSeconds`, `waited` is the statement
/// as the wait left it (its `Status`, and `HasResultSet` once it ended).
pub(crate) fn submitted(s: &Submitted, target: &Target, waited: Option<&Description>) -> Value {
    to_json(SubmittedOut {
        id: &s.id,
        created_at: s.created_at,
        target: TargetOut::of(target),
        session_id: s.session_id.as_deref(),
        status: waited.map(|d| d.status().as_str()),
        has_result_set: waited
            .filter(|d| d.status().ended())
            .map(|d| d.has_result_set()),
    })
}

/// The fields a statement and a batch's sub-statement share.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LifecycleOut<'a> {
    id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(serialize_with = "epoch")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "epoch")]
    updated_at: DateTime<Utc>,
}

impl<'a> LifecycleOut<'a> {
    fn of(l: &'a Lifecycle) -> Self {
        LifecycleOut {
            id: &l.id,
            status: l.status.as_str(),
            error: l.error.as_deref(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// `SqlParameter`: lower-case members as the model spells them.
#[derive(Serialize)]
struct ParameterOut<'a> {
    name: &'a str,
    value: &'a str,
}

/// `QueryParameters`, omitted when there are none.
fn parameters(params: &[(String, String)]) -> Option<Vec<ParameterOut<'_>>> {
    (!params.is_empty()).then(|| {
        params
            .iter()
            .map(|(name, value)| ParameterOut { name, value })
            .collect()
    })
}

/// `DescribeStatementResponse` of a statement.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatementOut<'a> {
    #[serde(flatten)]
    lifecycle: LifecycleOut<'a>,
    duration: i64,
    has_result_set: bool,
    query_string: &'a str,
    result_rows: i64,
    result_size: i64,
    redshift_query_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    redshift_pid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    #[serde(flatten)]
    target: TargetOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_parameters: Option<Vec<ParameterOut<'a>>>,
    result_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_statements: Option<Vec<SubStatementOut<'a>>>,
}

/// A batch's sub-statement (`SubStatementData`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SubStatementOut<'a> {
    #[serde(flatten)]
    lifecycle: LifecycleOut<'a>,
    duration: i64,
    query_string: &'a str,
    result_rows: i64,
    result_size: i64,
    redshift_query_id: i64,
    has_result_set: bool,
}

impl<'a> SubStatementOut<'a> {
    fn of(sub: &'a SubStatementView) -> Self {
        SubStatementOut {
            lifecycle: LifecycleOut::of(&sub.lifecycle),
            duration: sub.duration_ns,
            query_string: &sub.sql,
            result_rows: sub.result_rows,
            result_size: sub.result_size,
            redshift_query_id: sub.query_id,
            has_result_set: sub.has_result_set,
        }
    }
}

/// `DescribeStatement`'s reply.
pub(crate) fn description(d: &Description) -> Value {
    match d {
        Description::Statement(s) => to_json(statement(s)),
        Description::Sub(sub) => to_json(SubStatementOut::of(sub)),
    }
}

/// A described statement.
fn statement(s: &StatementView) -> StatementOut<'_> {
    StatementOut {
        lifecycle: LifecycleOut::of(&s.lifecycle),
        duration: s.duration_ns,
        has_result_set: s.has_result_set,
        query_string: &s.query_string,
        result_rows: s.result_rows,
        result_size: s.result_size,
        redshift_query_id: s.query_id,
        redshift_pid: s.pid,
        session_id: s.session_id.as_deref(),
        target: TargetOut::of(&s.target),
        query_parameters: parameters(&s.parameters),
        result_format: s.result_format.as_str(),
        execution_mode: s.batch.as_ref().map(|b| b.execution_mode.as_str()),
        sub_statements: s
            .batch
            .as_ref()
            .map(|b| b.subs.iter().map(SubStatementOut::of).collect()),
    }
}

/// A column as `ColumnMetadata` (`columnDefault` only when it has one).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ColumnOut<'a> {
    is_case_sensitive: bool,
    is_currency: bool,
    is_signed: bool,
    label: &'a str,
    name: &'a str,
    nullable: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    column_default: Option<&'a str>,
    precision: i32,
    scale: i32,
    schema_name: &'a str,
    table_name: &'a str,
    type_name: &'a str,
    length: i32,
}

fn column(c: &Column) -> ColumnOut<'_> {
    ColumnOut {
        is_case_sensitive: c.case_sensitive,
        is_currency: false,
        is_signed: c.signed,
        label: &c.name,
        name: &c.name,
        nullable: i32::from(c.nullable),
        column_default: c.default.as_deref(),
        precision: c.precision,
        scale: c.scale,
        schema_name: &c.schema_name,
        table_name: &c.table_name,
        type_name: &c.type_name,
        length: c.length,
    }
}

fn columns(cs: &[Column]) -> Vec<ColumnOut<'_>> {
    cs.iter().map(column).collect()
}

/// A page of a listing or a result: its items, and `NextToken` when another page follows.
#[derive(Serialize)]
struct Paged<'a, T: Serialize> {
    #[serde(flatten)]
    page: T,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

fn paged<T: Serialize>(page: T, next_token: &Option<String>) -> Value {
    to_json(Paged {
        page,
        next_token: next_token.as_deref(),
    })
}

/// `GetStatementResultResponse`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResultPageOut<'a> {
    records: Value,
    column_metadata: Vec<ColumnOut<'a>>,
    total_num_rows: usize,
}

/// `GetStatementResult`'s reply: the page's rows as typed `Field`s.
pub(crate) fn result_page(p: &ResultPage) -> Value {
    let page = ResultPageOut {
        records: records(&p.records),
        column_metadata: columns(&p.columns),
        total_num_rows: p.total_rows,
    };
    paged(page, &p.next_token)
}

/// `QueryRecords` of `GetStatementResultV2`: the CSV member, the only one the model has.
#[derive(Serialize)]
struct CsvRecords {
    #[serde(rename = "CSVRecords")]
    csv_records: String,
}

/// `GetStatementResultV2Response`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CsvPageOut<'a> {
    records: [CsvRecords; 1],
    column_metadata: Vec<ColumnOut<'a>>,
    total_num_rows: usize,
    result_format: &'static str,
}

/// `GetStatementResultV2`'s reply: the page as one CSV text (header line first).
pub(crate) fn result_page_csv(p: &ResultPage) -> Value {
    let page = CsvPageOut {
        records: [CsvRecords {
            csv_records: csv::page(&p.columns, &p.records),
        }],
        column_metadata: columns(&p.columns),
        total_num_rows: p.total_rows,
        result_format: crate::engine::ResultFormat::Csv.as_str(),
    };
    paged(page, &p.next_token)
}

/// `CancelStatement`'s reply: the cancel request went out.
pub(crate) fn cancelled() -> Value {
    json!({"Status": true})
}

/// One `StatementData`: a batch lists its SQL as `QueryStrings`, a single statement as `QueryString`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StatementDataOut<'a> {
    id: &'a str,
    status: &'static str,
    #[serde(serialize_with = "epoch")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "epoch")]
    updated_at: DateTime<Utc>,
    is_batch_statement: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_strings: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_parameters: Option<Vec<ParameterOut<'a>>>,
    result_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
}

fn statement_summary(s: &StatementSummary) -> StatementDataOut<'_> {
    StatementDataOut {
        id: &s.lifecycle.id,
        status: s.lifecycle.status.as_str(),
        created_at: s.lifecycle.created_at,
        updated_at: s.lifecycle.updated_at,
        is_batch_statement: s.is_batch,
        query_strings: s.is_batch.then_some(s.sqls.as_slice()),
        query_string: (!s.is_batch).then(|| s.sqls[0].as_str()),
        statement_name: s.name.as_deref(),
        secret_arn: s.secret_arn.as_deref(),
        query_parameters: parameters(&s.parameters),
        result_format: s.result_format.as_str(),
        session_id: s.session_id.as_deref(),
    }
}

/// `ListStatements`'s reply.
pub(crate) fn statements(l: &Listing<StatementSummary>) -> Value {
    let page: Vec<_> = l.items.iter().map(statement_summary).collect();
    paged(json!({ "Statements": page }), &l.next_token)
}

/// One `SessionData`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SessionOut<'a> {
    session_id: &'a str,
    status: &'static str,
    #[serde(serialize_with = "epoch")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "epoch")]
    updated_at: DateTime<Utc>,
    #[serde(flatten)]
    target: TargetOut<'a>,
    session_alive_seconds: u64,
    #[serde(serialize_with = "epoch_opt", skip_serializing_if = "Option::is_none")]
    session_ttl: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_statement_id: Option<&'a str>,
}

fn session(s: &SessionView) -> SessionOut<'_> {
    SessionOut {
        session_id: &s.session_id,
        status: s.status,
        created_at: s.created_at,
        updated_at: s.updated_at,
        // A session lists its target without the secret.
        target: TargetOut {
            secret_arn: None,
            ..TargetOut::of(&s.target)
        },
        session_alive_seconds: s.keep_alive_seconds,
        session_ttl: s.ttl,
        current_statement_id: s.current_statement.as_deref(),
    }
}

/// `ListSessions`'s reply.
pub(crate) fn sessions(l: &Listing<SessionView>) -> Value {
    let page: Vec<_> = l.items.iter().map(session).collect();
    paged(json!({ "Sessions": page }), &l.next_token)
}

/// `ListDatabases`'s reply.
pub(crate) fn databases(l: &Listing<String>) -> Value {
    paged(json!({ "Databases": l.items }), &l.next_token)
}

/// `ListSchemas`'s reply.
pub(crate) fn schemas(l: &Listing<String>) -> Value {
    paged(json!({ "Schemas": l.items }), &l.next_token)
}

/// A `TableMember`.
#[derive(Serialize)]
struct TableMemberOut<'a> {
    name: &'a str,
    schema: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// `ListTables`'s reply.
pub(crate) fn tables(l: &Listing<crate::catalog::TableMember>) -> Value {
    let tables: Vec<_> = l
        .items
        .iter()
        .map(|t| TableMemberOut {
            name: &t.name,
            schema: &t.schema,
            kind: &t.kind,
        })
        .collect();
    paged(json!({ "Tables": tables }), &l.next_token)
}

/// `DescribeTableResponse`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TableDescriptionOut<'a> {
    column_list: Vec<ColumnOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_name: Option<&'a str>,
}

/// `DescribeTable`'s reply: the columns, and the table's name when the request named one.
pub(crate) fn table_description(l: &Listing<Column>, table: Option<&str>) -> Value {
    let page = TableDescriptionOut {
        column_list: columns(&l.items),
        table_name: table,
    };
    paged(page, &l.next_token)
}

/// `GET /_local/stats`: the counts tests and the bench read.
pub(crate) fn stats(s: &Stats) -> Value {
    json!({
        "calls": s.calls,
        "statementsRun": s.statements_run,
        "events": {
            "sent": s.events_sent,
            "dropped": s.events_dropped,
            "duplicated": s.events_duplicated,
            "failed": s.events_failed,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_columns_keep_their_shapes() {
        let c = crate::values::column_metadata("n", &tokio_postgres::types::Type::INT4);
        assert_eq!(
            to_json(column(&c)),
            json!({
                "isCaseSensitive": false, "isCurrency": false, "isSigned": true, "label": "n", "name": "n",
                "nullable": 1, "precision": 0, "scale": 0, "schemaName": "", "tableName": "",
                "typeName": "int4", "length": 0,
            })
        );
    }
}
