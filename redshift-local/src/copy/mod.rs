//! Redshift's `COPY table FROM 's3://...'` and `UNLOAD ('select ...') TO 's3://...'`, run against the local S3
//! (the moto server) and, for real, against PostgreSQL.
//!
//! PostgreSQL has a `COPY` of its own that reads server files and knows nothing of S3, and no `UNLOAD` at all, so
//! users' Redshift loads and unloads would fail with errors Redshift never gives. This module recognises both
//! statements with `sqlparser`'s Redshift dialect, reads or writes the objects with the real AWS SDK, and moves
//! the rows with PostgreSQL's own `COPY ... FROM STDIN` (so type errors and constraint violations are PostgreSQL's
//! real ones; field counts, date formats and lengths are checked first, as Redshift checks them). Failures that Redshift itself reports (a prefix with no objects, a
//! non-empty unload destination, malformed credentials, a missing table) carry Redshift's own text; rows a load
//! rejects are recorded in `stl_load_errors`. Options that redshift-local does not implement fail the statement
//! with a message naming them, never silently.
//!
//! The IAM role is checked for form only: there is no IAM locally, and the moto S3 accepts any signature.
//!
//! Each job has its own module:
//!
//! - `spec` is what a statement asks for ([`spec::CopySpec`], [`spec::UnloadSpec`]); `statement` reads a
//!   statement's text into one (`auth` checks the authorization it carries, for form only).
//! - `s3` is the S3 side: the local client, listing and getting objects, and S3's errors as Redshift words them;
//!   `manifest` reads a `COPY`'s manifest and writes an `UNLOAD`'s.
//! - `formats` reads a data file: gunzipped, UTF-8, split into records as text, CSV or JSON, with Redshift's
//!   NULL rules.
//! - `columns` is the target table's columns from PostgreSQL's catalog; `convert` makes a record's fields ready
//!   for them (`datetime` reads `DATEFORMAT` / `TIMEFORMAT`).
//! - `load` runs `COPY` through PostgreSQL's `COPY ... FROM STDIN`, skipping rejected rows up to `MAXERROR`;
//!   `load_errors` is `stl_load_errors`, the table and its rows.
//! - `unload` runs `UNLOAD`: the query on PostgreSQL and its rows written as one part file.
//! - `error` is why a statement failed, in Redshift's words.
//!
//! [`run_if_s3`] is the entry point: it recognises the statement and hands it to `load` or `unload`;
//! [`split_around_s3`] splits a text where such a statement follows others.

mod auth;
mod columns;
mod convert;
mod datetime;
mod error;
mod formats;
mod load;
mod load_errors;
mod manifest;
mod s3;
mod spec;
mod statement;
#[cfg(test)]
mod test_support;
mod unload;

use error::CopyError;
pub(crate) use load_errors::SETUP_SQL as LOAD_ERRORS_SQL;
use spec::Command;
use statement::recognise;
pub(crate) use statement::split_around_s3;

/// Runs `sql` if it is a `COPY` from S3 or an `UNLOAD`; `None` leaves it to the caller. Answers the rows loaded
/// or unloaded. `query_id` is the statement's query id (recorded with the rows a load rejects).
pub(crate) async fn run_if_s3(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[(String, String)],
    options: &crate::Options,
    query_id: i64,
) -> Option<Result<i64, CopyError>> {
    let command = match recognise(sql)? {
        Ok(command) => command,
        Err(e) => return Some(Err(e)),
    };
    if !params.is_empty() {
        return Some(Err(CopyError::Unsupported(
            "COPY or UNLOAD with parameters".into(),
        )));
    }
    let Some(endpoint) = options.s3_endpoint.as_deref() else {
        return Some(Err(CopyError::NoEndpoint));
    };
    let s3 = s3::s3_client(endpoint, &options.region);
    Some(match command {
        Command::Copy(spec) => load::copy(client, &s3, &spec, query_id, &options.postgres).await,
        Command::Unload(spec) => unload::unload(client, &s3, &spec).await,
    })
}
