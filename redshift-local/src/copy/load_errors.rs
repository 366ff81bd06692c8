//! `stl_load_errors`: the table (created once per database, [`SETUP_SQL`]) and the rows a `COPY` rejects, written
//! on a connection of their own so that they stay when the load fails and its transaction rolls back, as
//! Redshift's do ("Check 'stl_load_errors' system table for details" follows a failed load).

use super::columns::{Column, Kind};
use super::convert::Rejection;
use super::error::CopyError;
use super::spec::CopySpec;
use tokio_postgres::NoTls;

/// Creates `redshift_system.stl_load_errors`; run by the administrator once per database.
pub(crate) const SETUP_SQL: &str = include_str!("load_errors.sql");

/// The load a rejected row belongs to (the columns `stl_load_errors` repeats on each row).
pub(super) struct LoadContext {
    pub(super) userid: i32,
    pub(super) tbl: i32,
    pub(super) session: i32,
    pub(super) query: i32,
    /// When the load started, UTC, as PostgreSQL's timestamp text.
    pub(super) starttime: String,
    pub(super) database: String,
}

impl LoadContext {
    /// The statement's user, session and table, read on the statement's own connection.
    pub(super) async fn read(
        client: &tokio_postgres::Client,
        spec: &CopySpec,
        query: i64,
    ) -> Result<LoadContext, CopyError> {
        let row = client
            .query_one(
                "select (select oid from pg_roles where rolname = current_user)::bigint::int4, \
                 coalesce(to_regclass($1)::oid::bigint::int4, 0), pg_backend_pid(), \
                 to_char(now() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US'), current_database()::text",
                &[&spec.table],
            )
            .await?;
        Ok(LoadContext {
            userid: row.get(0),
            tbl: row.get(1),
            session: row.get(2),
            query: i32::try_from(query).unwrap_or(-1),
            starttime: row.get(3),
            database: row.get(4),
        })
    }
}

/// A rejected row, where it came from.
pub(super) struct LoadError {
    /// `s3://bucket/key`.
    pub(super) filename: String,
    pub(super) line_number: i64,
    pub(super) raw_line: String,
    pub(super) rejection: Rejection,
}

/// The first `n` characters of `text` (the table's columns are fixed-length `character(n)`).
fn clip(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// `raw_line` as Redshift records it: "Multibyte characters in the load data are replaced with a period."
fn ascii_only(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii() { c } else { '.' })
        .collect()
}

/// Writes the rejected rows, as the administrator (`admin`) on the load's database. Failing to write them does
/// not change the load's outcome: it is logged (without values) and the statement's own answer stands.
pub(super) async fn record(
    admin: &tokio_postgres::Config,
    context: &LoadContext,
    columns: &[Column],
    errors: &[LoadError],
) {
    if errors.is_empty() {
        return;
    }
    let mut config = admin.clone();
    config.dbname(&context.database);
    let written = async {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(connection);
        let insert = client
            .prepare(
                "insert into redshift_system.stl_load_errors (userid, slice, tbl, starttime, session, query, \
                 filename, line_number, colname, type, col_length, position, raw_line, raw_field_value, err_code, \
                 err_reason, is_partial, start_offset) values ($1::int4, 0, $2::int4, $3::text::timestamp, \
                 $4::int4, $5::int4, $6::text, $7::int8, $8::text, $9::text, $10::text, $11::int4, $12::text, \
                 $13::text, $14::int4, $15::text, 0, 0)",
            )
            .await?;
        for e in errors {
            let column = e.rejection.column.and_then(|i| columns.get(i));
            let colname = column.map(Column::bare_name).unwrap_or_default();
            let type_name = column.map(|c| c.type_name.clone()).unwrap_or_default();
            let col_length = match column.map(|c| c.kind) {
                Some(Kind::Text { max_bytes: Some(n) }) => n.to_string(),
                _ => String::new(),
            };
            client
                .execute(
                    &insert,
                    &[
                        &context.userid,
                        &context.tbl,
                        &context.starttime,
                        &context.session,
                        &context.query,
                        &clip(&e.filename, 256),
                        &e.line_number,
                        &clip(&colname, 127),
                        &clip(&type_name, 10),
                        &col_length,
                        &0i32,
                        &clip(&ascii_only(&e.raw_line), 1024),
                        &clip(e.rejection.value.as_deref().unwrap_or_default(), 1024),
                        &e.rejection.code,
                        &clip(&e.rejection.reason, 100),
                    ],
                )
                .await?;
        }
        Ok::<_, tokio_postgres::Error>(())
    };
    if let Err(e) = written.await {
        tracing::warn!(error = %e, "could not record rejected rows in stl_load_errors");
    }
}
