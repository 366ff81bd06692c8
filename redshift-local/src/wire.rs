//! The Data API's JSON shapes: the API layer's half that renders the engine's, the sessions' and the catalog's
//! typed answers (and errors) as the service model spells them, field names, types and omitted optionals
//! included, so `aws-sdk-redshiftdata` and boto3 parse them as they parse the service's.

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
use serde_json::{json, Map, Value};

/// A time as the model's timestamps go on the wire: seconds since the epoch, with milliseconds.
fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// An error reply's body: `__type` for the SDKs, the message under both spellings clients read.
pub(crate) fn error(e: &ApiError) -> Value {
    let mut body = json!({"__type": e.code, "message": e.message, "Message": e.message});
    if let Some(id) = &e.resource_id {
        body["ResourceId"] = json!(id);
    }
    body
}

/// Inserts the optional target fields that are present (absent ones are omitted, as the service does).
fn insert_present(m: &mut Map<String, Value>, fields: &[(&str, &Option<String>)]) {
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert((*k).into(), json!(v));
        }
    }
}

/// `ExecuteStatement`'s and `BatchExecuteStatement`'s reply; with `WaitTimeSeconds`, `waited` is the statement
/// as the wait left it (its `Status`, and `HasResultSet` once it ended).
pub(crate) fn submitted(s: &Submitted, target: &Target, waited: Option<&Description>) -> Value {
    let mut m = Map::new();
    m.insert("Id".into(), json!(s.id));
    m.insert("CreatedAt".into(), epoch(s.created_at));
    m.insert("Database".into(), json!(target.database));
    insert_present(
        &mut m,
        &[
            ("ClusterIdentifier", &target.cluster_identifier),
            ("WorkgroupName", &target.workgroup_name),
            ("DbUser", &target.db_user),
            ("SecretArn", &target.secret_arn),
        ],
    );
    if let Some(sid) = &s.session_id {
        m.insert("SessionId".into(), json!(sid));
    }
    if let Some(d) = waited {
        m.insert("Status".into(), json!(d.status().as_str()));
        if d.status().ended() {
            m.insert("HasResultSet".into(), json!(d.has_result_set()));
        }
    }
    Value::Object(m)
}

/// `DescribeStatement`'s reply.
pub(crate) fn description(d: &Description) -> Value {
    match d {
        Description::Statement(s) => statement(s),
        Description::Sub(sub) => sub_statement(sub),
    }
}

/// The fields a statement and a batch's sub-statement share.
fn lifecycle(l: &Lifecycle) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Id".into(), json!(l.id));
    m.insert("Status".into(), json!(l.status.as_str()));
    if let Some(e) = &l.error {
        m.insert("Error".into(), json!(e));
    }
    m.insert("CreatedAt".into(), epoch(l.created_at));
    m.insert("UpdatedAt".into(), epoch(l.updated_at));
    m
}

/// A described statement.
fn statement(s: &StatementView) -> Value {
    let mut m = lifecycle(&s.lifecycle);
    m.insert("Duration".into(), json!(s.duration_ns));
    m.insert("HasResultSet".into(), json!(s.has_result_set));
    m.insert("QueryString".into(), json!(s.query_string));
    m.insert("ResultRows".into(), json!(s.result_rows));
    m.insert("ResultSize".into(), json!(s.result_size));
    m.insert("RedshiftQueryId".into(), json!(s.query_id));
    if let Some(pid) = s.pid {
        m.insert("RedshiftPid".into(), json!(pid));
    }
    if let Some(sid) = &s.session_id {
        m.insert("SessionId".into(), json!(sid));
    }
    m.insert("Database".into(), json!(s.target.database));
    insert_present(
        &mut m,
        &[
            ("ClusterIdentifier", &s.target.cluster_identifier),
            ("WorkgroupName", &s.target.workgroup_name),
            ("DbUser", &s.target.db_user),
            ("SecretArn", &s.target.secret_arn),
        ],
    );
    if !s.parameters.is_empty() {
        m.insert("QueryParameters".into(), parameters(&s.parameters));
    }
    m.insert("ResultFormat".into(), json!(s.result_format.as_str()));
    if let Some(batch) = &s.batch {
        m.insert("ExecutionMode".into(), json!(batch.execution_mode.as_str()));
        let subs = batch.subs.iter().map(sub_statement).collect();
        m.insert("SubStatements".into(), Value::Array(subs));
    }
    Value::Object(m)
}

/// A batch's sub-statement (`SubStatementData`).
fn sub_statement(sub: &SubStatementView) -> Value {
    let mut m = lifecycle(&sub.lifecycle);
    m.insert("Duration".into(), json!(sub.duration_ns));
    m.insert("QueryString".into(), json!(sub.sql));
    m.insert("ResultRows".into(), json!(sub.result_rows));
    m.insert("ResultSize".into(), json!(sub.result_size));
    m.insert("RedshiftQueryId".into(), json!(sub.query_id));
    m.insert("HasResultSet".into(), json!(sub.has_result_set));
    Value::Object(m)
}

/// `QueryParameters`: `SqlParameter`s, lower-case members as the model spells them.
fn parameters(params: &[(String, String)]) -> Value {
    Value::Array(
        params
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

/// A column as `ColumnMetadata` (`columnDefault` only when it has one).
fn column(c: &Column) -> Value {
    let mut m = Map::new();
    m.insert("isCaseSensitive".into(), json!(c.case_sensitive));
    m.insert("isCurrency".into(), json!(false));
    m.insert("isSigned".into(), json!(c.signed));
    m.insert("label".into(), json!(c.name));
    m.insert("name".into(), json!(c.name));
    m.insert("nullable".into(), json!(if c.nullable { 1 } else { 0 }));
    if let Some(d) = &c.default {
        m.insert("columnDefault".into(), json!(d));
    }
    m.insert("precision".into(), json!(c.precision));
    m.insert("scale".into(), json!(c.scale));
    m.insert("schemaName".into(), json!(c.schema_name));
    m.insert("tableName".into(), json!(c.table_name));
    m.insert("typeName".into(), json!(c.type_name));
    m.insert("length".into(), json!(c.length));
    Value::Object(m)
}

fn columns(cs: &[Column]) -> Value {
    Value::Array(cs.iter().map(column).collect())
}

/// Adds `NextToken` when another page follows.
fn with_next_token(mut out: Value, next_token: &Option<String>) -> Value {
    if let Some(t) = next_token {
        out["NextToken"] = json!(t);
    }
    out
}

/// `GetStatementResult`'s reply: the page's rows as typed `Field`s.
pub(crate) fn result_page(p: &ResultPage) -> Value {
    let out = json!({
        "Records": records(&p.records),
        "ColumnMetadata": columns(&p.columns),
        "TotalNumRows": p.total_rows,
    });
    with_next_token(out, &p.next_token)
}

/// `GetStatementResultV2`'s reply: the page as one CSV text (header line first), the only `QueryRecords`
/// member the model has.
pub(crate) fn result_page_csv(p: &ResultPage) -> Value {
    let out = json!({
        "Records": [{"CSVRecords": csv::page(&p.columns, &p.records)}],
        "ColumnMetadata": columns(&p.columns),
        "TotalNumRows": p.total_rows,
        "ResultFormat": crate::engine::ResultFormat::Csv.as_str(),
    });
    with_next_token(out, &p.next_token)
}

/// `CancelStatement`'s reply: the cancel request went out.
pub(crate) fn cancelled() -> Value {
    json!({"Status": true})
}

/// `ListStatements`'s reply.
pub(crate) fn statements(l: &Listing<StatementSummary>) -> Value {
    let page: Vec<Value> = l.items.iter().map(statement_summary).collect();
    with_next_token(json!({ "Statements": page }), &l.next_token)
}

/// One `StatementData`: a batch lists its SQL as `QueryStrings`, a single statement as `QueryString`.
fn statement_summary(s: &StatementSummary) -> Value {
    let mut m = Map::new();
    m.insert("Id".into(), json!(s.lifecycle.id));
    m.insert("Status".into(), json!(s.lifecycle.status.as_str()));
    m.insert("CreatedAt".into(), epoch(s.lifecycle.created_at));
    m.insert("UpdatedAt".into(), epoch(s.lifecycle.updated_at));
    m.insert("IsBatchStatement".into(), json!(s.is_batch));
    if s.is_batch {
        m.insert("QueryStrings".into(), json!(s.sqls));
    } else {
        m.insert("QueryString".into(), json!(s.sqls[0]));
    }
    if let Some(n) = &s.name {
        m.insert("StatementName".into(), json!(n));
    }
    if let Some(a) = &s.secret_arn {
        m.insert("SecretArn".into(), json!(a));
    }
    if !s.parameters.is_empty() {
        m.insert("QueryParameters".into(), parameters(&s.parameters));
    }
    m.insert("ResultFormat".into(), json!(s.result_format.as_str()));
    if let Some(sid) = &s.session_id {
        m.insert("SessionId".into(), json!(sid));
    }
    Value::Object(m)
}

/// `ListSessions`'s reply.
pub(crate) fn sessions(l: &Listing<SessionView>) -> Value {
    let page: Vec<Value> = l.items.iter().map(session).collect();
    with_next_token(json!({ "Sessions": page }), &l.next_token)
}

/// One `SessionData`.
fn session(s: &SessionView) -> Value {
    let mut m = Map::new();
    m.insert("SessionId".into(), json!(s.session_id));
    m.insert("Status".into(), json!(s.status));
    m.insert("CreatedAt".into(), epoch(s.created_at));
    m.insert("UpdatedAt".into(), epoch(s.updated_at));
    m.insert("Database".into(), json!(s.target.database));
    m.insert("SessionAliveSeconds".into(), json!(s.keep_alive_seconds));
    insert_present(
        &mut m,
        &[
            ("DbUser", &s.target.db_user),
            ("ClusterIdentifier", &s.target.cluster_identifier),
            ("WorkgroupName", &s.target.workgroup_name),
        ],
    );
    if let Some(ttl) = s.ttl {
        m.insert("SessionTtl".into(), epoch(ttl));
    }
    if let Some(id) = &s.current_statement {
        m.insert("CurrentStatementId".into(), json!(id));
    }
    Value::Object(m)
}

/// `ListDatabases`'s reply.
pub(crate) fn databases(l: &Listing<String>) -> Value {
    with_next_token(json!({ "Databases": l.items }), &l.next_token)
}

/// `ListSchemas`'s reply.
pub(crate) fn schemas(l: &Listing<String>) -> Value {
    with_next_token(json!({ "Schemas": l.items }), &l.next_token)
}

/// `ListTables`'s reply: `TableMember`s.
pub(crate) fn tables(l: &Listing<crate::catalog::TableMember>) -> Value {
    let tables: Vec<Value> = l
        .items
        .iter()
        .map(|t| json!({"name": t.name, "schema": t.schema, "type": t.kind}))
        .collect();
    with_next_token(json!({ "Tables": tables }), &l.next_token)
}

/// `DescribeTable`'s reply: the columns, and the table's name when the request named one.
pub(crate) fn table_description(l: &Listing<Column>, table: Option<&str>) -> Value {
    let mut out = json!({ "ColumnList": columns(&l.items) });
    if let Some(t) = table {
        out["TableName"] = json!(t);
    }
    with_next_token(out, &l.next_token)
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
            column(&c),
            json!({
                "isCaseSensitive": false, "isCurrency": false, "isSigned": true, "label": "n", "name": "n",
                "nullable": 1, "precision": 0, "scale": 0, "schemaName": "", "tableName": "",
                "typeName": "int4", "length": 0,
            })
        );
    }
}
