//! The listing operations: `ListStatements`, `ListSessions` and the catalog's (`ListDatabases`, `ListSchemas`,
//! `ListTables`, `DescribeTable`), their filters checked as the model bounds them.

use super::checks::{check_id, check_target, check_target_filter, max_results, required_database};
use super::{decode, Caller};
use crate::catalog::{self, Scope};
use crate::engine::{Engine, SessionFilter, SessionScope, TargetFilter};
use crate::error::ApiError;
use crate::paging::Page;
use crate::wire;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListSessionsRequest {
    next_token: Option<String>,
    max_results: Option<u32>,
    session_id: Option<String>,
    status: Option<String>,
    /// Locally an identity is one access key, so every session of the caller is of its role.
    #[allow(dead_code)]
    role_level: Option<bool>,
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    database: Option<String>,
}

/// `ListSessions`: validates the filters as the model and the service's documentation bound them.
pub(super) fn list_sessions(
    engine: &Arc<Engine>,
    body: &Value,
    caller: &str,
) -> Result<Value, ApiError> {
    let r: ListSessionsRequest = decode(body)?;
    let max = max_results(r.max_results, 100)?;
    if let Some(sid) = &r.session_id {
        check_id(sid)?;
        let others = r.status.is_some()
            || r.cluster_identifier.is_some()
            || r.workgroup_name.is_some()
            || r.database.is_some();
        if others {
            return Err(ApiError::validation(
                "SessionId: with SessionId, Status, ClusterIdentifier, WorkgroupName and Database can't be specified",
            ));
        }
    }
    if let Some(s) = &r.status {
        if !["AVAILABLE", "BUSY", "CLOSED"].contains(&s.as_str()) {
            return Err(ApiError::validation(
                "Status: must be AVAILABLE, BUSY or CLOSED",
            ));
        }
    }
    check_target_filter(&r.cluster_identifier, &r.workgroup_name)?;
    let filter = SessionFilter {
        session_id: r.session_id,
        status: r.status,
        cluster_identifier: r.cluster_identifier,
        workgroup_name: r.workgroup_name,
        database: r.database,
    };
    let page = Page::new("sessions", max, r.next_token.as_deref())?;
    engine
        .list_sessions(caller, &filter, &page)
        .map(|listing| wire::sessions(&listing))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CatalogRequest {
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    database: Option<String>,
    db_user: Option<String>,
    secret_arn: Option<String>,
    connected_database: Option<String>,
    schema_pattern: Option<String>,
    table_pattern: Option<String>,
    schema: Option<String>,
    table: Option<String>,
    next_token: Option<String>,
    max_results: Option<u32>,
}

/// `ListDatabases`, `ListSchemas`, `ListTables` and `DescribeTable`: the same target and `Database` as a
/// statement needs, then the catalog query on that database.
pub(super) async fn catalog_operation(
    engine: &Arc<Engine>,
    operation: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let r: CatalogRequest = decode(body)?;
    check_target(
        &r.cluster_identifier,
        &r.workgroup_name,
        &r.db_user,
        &r.secret_arn,
    )?;
    let database = required_database(r.database)?;
    let max = max_results(r.max_results, 1000)?;
    let next = r.next_token.as_deref();
    let config = engine.postgres_config();
    let scope = Scope {
        database: &database,
        connected_database: r.connected_database.as_deref().filter(|d| !d.is_empty()),
    };
    match operation {
        "ListDatabases" => {
            let page = Page::new("databases", max, next)?;
            let listing = catalog::list_databases(config, &database, &page).await?;
            Ok(wire::databases(&listing))
        }
        "ListSchemas" => {
            let page = Page::new("schemas", max, next)?;
            let listing =
                catalog::list_schemas(config, scope, r.schema_pattern.as_deref(), &page).await?;
            Ok(wire::schemas(&listing))
        }
        "ListTables" => {
            let page = Page::new("tables", max, next)?;
            let (schemas, tables) = (r.schema_pattern.as_deref(), r.table_pattern.as_deref());
            let listing = catalog::list_tables(config, scope, schemas, tables, &page).await?;
            Ok(wire::tables(&listing))
        }
        _ => {
            let page = Page::new("columns", max, next)?;
            let (schema, table) = (r.schema.as_deref(), r.table.as_deref());
            let listing = catalog::describe_table(config, scope, schema, table, &page).await?;
            Ok(wire::table_description(&listing, table))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    next_token: Option<String>,
    max_results: Option<u32>,
    statement_name: Option<String>,
    status: Option<String>,
    /// True (the default): every statement of the caller's role (access key); false: only those of the caller's
    /// IAM session (session token).
    role_level: Option<bool>,
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    database: Option<String>,
}

/// `ListStatements`: validates the status and target filters, then lists the caller's statements. As the model
/// documents it (botocore's `redshift-data` `service-2.json`): without `Status`, "By default, only finished
/// statements are shown"; `RoleLevel` "If true, all statements run by the caller's IAM role are returned. If false,
/// only statements run by the caller's IAM role in the current IAM session are returned. The default is true."
pub(super) fn list_statements(
    engine: &Arc<Engine>,
    body: &Value,
    caller: &Caller,
) -> Result<Value, ApiError> {
    let r: ListRequest = decode(body)?;
    if let Some(s) = &r.status {
        if ![
            "SUBMITTED",
            "PICKED",
            "STARTED",
            "FINISHED",
            "ABORTED",
            "FAILED",
            "ALL",
        ]
        .contains(&s.as_str())
        {
            return Err(ApiError::validation(format!(
                "Status: {s:?} is not a statement status"
            )));
        }
    }
    let max = max_results(r.max_results, 100)?;
    check_target_filter(&r.cluster_identifier, &r.workgroup_name)?;
    let target = TargetFilter {
        cluster_identifier: r.cluster_identifier,
        workgroup_name: r.workgroup_name,
        database: r.database,
    };
    let page = Page::new("list", max, r.next_token.as_deref())?;
    let session = match r.role_level {
        Some(false) => SessionScope::Only(caller.session.as_deref()),
        None | Some(true) => SessionScope::Role,
    };
    let listing = engine.list(
        &caller.key,
        session,
        r.statement_name.as_deref(),
        r.status.as_deref().unwrap_or("FINISHED"),
        &target,
        &page,
    );
    Ok(wire::statements(&listing))
}
