//! Running one SQL statement on PostgreSQL: Redshift's SQL translated, parameters bound, rows typed.

use super::ResultSet;
use crate::values;
use crate::Options;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::SimpleQueryMessage;

/// Why a statement did not finish.
pub(super) struct RunFailure {
    pub(super) text: String,
    pub(super) cancelled: bool,
}

/// The Data API's error text: PostgreSQL's own message, as Redshift reports it.
pub(super) fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("ERROR: {}", db.message()),
        None => format!("ERROR: {e}"),
    }
}

/// Runs one SQL text: a text where a `COPY` from S3 or an `UNLOAD` follows other statements runs statement by
/// statement (the last one answers); any other text runs as one.
pub(super) async fn run_one(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[(String, String)],
    options: &Options,
    query_id: i64,
) -> Result<(i64, Option<ResultSet>), RunFailure> {
    let Some(statements) = crate::copy::split_around_s3(sql) else {
        return run_statement(client, sql, params, options, query_id).await;
    };
    let mut last = (0, None);
    for statement in &statements {
        last = run_statement(client, statement, params, options, query_id).await?;
    }
    Ok(last)
}

/// Runs one statement: its column types from a prepare, its rows as text from the simple protocol, typed.
async fn run_statement(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[(String, String)],
    options: &Options,
    query_id: i64,
) -> Result<(i64, Option<ResultSet>), RunFailure> {
    // Redshift's COPY from S3 and UNLOAD to S3 run against the local S3, not as PostgreSQL's COPY.
    if let Some(ran) = crate::copy::run_if_s3(client, sql, params, options, query_id).await {
        return ran.map(|rows| (rows, None)).map_err(|e| RunFailure {
            cancelled: e.cancelled(),
            text: e.to_string(),
        });
    }
    let fail = |e: tokio_postgres::Error| RunFailure {
        cancelled: e.code() == Some(&SqlState::QUERY_CANCELED),
        text: error_text(&e),
    };
    // What a CREATE TABLE declares beyond PostgreSQL (DISTKEY, SORTKEY, ...), recorded once the table exists.
    let declared = crate::dialect::declared_attributes(sql);
    // Redshift's SQL to PostgreSQL's first: bound values must not go through the translation.
    let sql = crate::dialect::to_postgres(sql);
    let sql = values::bind(&sql, params).map_err(|text| RunFailure {
        text,
        cancelled: false,
    })?;
    let prepared = client.prepare(&sql).await.map_err(fail)?;
    let types: Vec<(String, Type)> = prepared
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect();
    let messages = client.simple_query(&sql).await.map_err(fail)?;
    let mut rows = Vec::new();
    let mut affected = 0u64;
    for m in messages {
        match m {
            SimpleQueryMessage::Row(r) => {
                rows.push(
                    (0..r.len())
                        .map(|i| {
                            values::field(types.get(i).map_or(&Type::TEXT, |t| &t.1), r.get(i))
                        })
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(n) => affected = n,
            _ => {}
        }
    }
    if let Some(attrs) = declared {
        if let Err(e) = crate::dialect::record_attributes(client, &attrs).await {
            tracing::warn!(error = %e, "could not record a table's attributes");
        }
    }
    if types.is_empty() {
        return Ok((affected as i64, None));
    }
    let columns = types
        .iter()
        .map(|(n, t)| values::column_metadata(n, t))
        .collect();
    Ok((rows.len() as i64, Some(ResultSet { columns, rows })))
}
