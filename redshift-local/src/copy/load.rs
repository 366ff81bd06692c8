//! Running a `COPY`: the data files (every object under the prefix, or those a `MANIFEST` lists) read into
//! records, each converted for its columns, and the rows loaded with PostgreSQL's `COPY ... FROM STDIN`.
//!
//! A row that fails (here, or in PostgreSQL's input) is rejected into `stl_load_errors`; fewer rejected rows than
//! `MAXERROR` are skipped, `MAXERROR` of them fail the load and load nothing. PostgreSQL names the line of its `COPY` that it
//! could not read (its error context, `COPY t, line N`), so the load is retried without that row: one `COPY` per
//! rejected row, each inside a savepoint when the statement runs in a transaction.

use super::columns::{target_columns, Column};
use super::convert::{convert_record, Rejection};
use super::error::CopyError;
use super::formats::{decode, load_error, records};
use super::load_errors::{record, LoadContext, LoadError};
use super::manifest::source_files;
use super::s3::get_object;
use super::spec::CopySpec;
use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::error::SqlState;

/// A row ready for PostgreSQL, and where it came from.
struct Row {
    filename: String,
    line: u64,
    raw: String,
    fields: Vec<Option<String>>,
}

/// The savepoint a retried load rolls back to inside a transaction.
const SAVEPOINT: &str = "redshift_local_copy";

/// `COPY`: the rows of every data file, loaded in one PostgreSQL `COPY ... FROM STDIN` (retried without each row
/// PostgreSQL rejects), rejected rows recorded in `stl_load_errors` through the administrator's `admin` connection.
pub(super) async fn copy(
    client: &tokio_postgres::Client,
    s3: &aws_sdk_s3::Client,
    spec: &CopySpec,
    query_id: i64,
    admin: &tokio_postgres::Config,
) -> Result<i64, CopyError> {
    let columns = target_columns(client, spec).await?;
    let context = LoadContext::read(client, spec, query_id).await?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (bucket, key) in source_files(s3, spec).await? {
        let filename = format!("s3://{bucket}/{key}");
        let raw = get_object(s3, &bucket, &key).await?;
        let read = decode(spec, &raw).and_then(|text| records(spec, &columns, &text));
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                // A file that cannot be read fails the load whatever MAXERROR says; it is recorded too.
                let detail = format!("{filename} line {}: {}", e.line, e.reason);
                errors.push(LoadError {
                    filename,
                    line_number: e.line as i64,
                    raw_line: String::new(),
                    rejection: Rejection {
                        code: e.code,
                        reason: e.reason,
                        column: None,
                        value: None,
                    },
                });
                record(admin, &context, &columns, &errors).await;
                return Err(load_error(spec, detail));
            }
        };
        for r in read {
            match convert_record(spec, &columns, r.fields) {
                Ok(fields) => rows.push(Row {
                    filename: filename.clone(),
                    line: r.line,
                    raw: r.raw,
                    fields,
                }),
                Err(rejection) => errors.push(LoadError {
                    filename: filename.clone(),
                    line_number: r.line as i64,
                    raw_line: r.raw,
                    rejection,
                }),
            }
        }
    }
    let outcome = load_rows(client, spec, &columns, &mut rows, &mut errors).await;
    record(admin, &context, &columns, &errors).await;
    outcome
}

/// Loads `rows`, moving each row PostgreSQL rejects to `errors`, until the load succeeds or the rejected rows
/// reach `MAXERROR`.
async fn load_rows(
    client: &tokio_postgres::Client,
    spec: &CopySpec,
    columns: &[Column],
    rows: &mut Vec<Row>,
    errors: &mut Vec<LoadError>,
) -> Result<i64, CopyError> {
    let savepoint = match client
        .batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))
        .await
    {
        Ok(()) => true,
        Err(e) if e.code() == Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION) => false,
        Err(e) => return Err(e.into()),
    };
    loop {
        if errors.len() as u64 >= spec.max_errors {
            return Err(too_many(spec, errors));
        }
        let attempt = copy_in(client, spec, columns, rows).await;
        let e = match attempt {
            Ok(loaded) => {
                if savepoint {
                    client
                        .batch_execute(&format!("RELEASE SAVEPOINT {SAVEPOINT}"))
                        .await?;
                }
                return Ok(loaded);
            }
            Err(e) => e,
        };
        if savepoint {
            client
                .batch_execute(&format!(
                    "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}; SAVEPOINT {SAVEPOINT}"
                ))
                .await?;
        }
        let rejected = e
            .as_db_error()
            .filter(|_| e.code() != Some(&SqlState::QUERY_CANCELED))
            .and_then(|db| Some((copy_line(db.where_()?)?, db)))
            .filter(|(line, _)| (1..=rows.len()).contains(line));
        let Some((line, db)) = rejected else {
            return Err(e.into());
        };
        let row = rows.remove(line - 1);
        let column = db
            .column()
            .map(str::to_string)
            .or_else(|| copy_column(db.where_()?))
            .and_then(|name| columns.iter().position(|c| c.bare_name() == name));
        errors.push(LoadError {
            rejection: Rejection {
                code: postgres_code(db.code(), column.map(|i| &columns[i])),
                reason: db.message().to_string(),
                column,
                value: column.and_then(|i| row.fields.get(i).cloned().flatten()),
            },
            filename: row.filename,
            line_number: row.line as i64,
            raw_line: row.raw,
        });
    }
}

/// Redshift's failure once the rejected rows reach `MAXERROR`, naming the last one.
fn too_many(spec: &CopySpec, errors: &[LoadError]) -> CopyError {
    let last = errors.last().map_or(String::new(), |e| {
        format!(
            "{} line {}: {}",
            e.filename, e.line_number, e.rejection.reason
        )
    });
    load_error(
        spec,
        format!(
            "{} rejected row(s), the load fails at {}; {last}",
            errors.len(),
            spec.max_errors
        ),
    )
}

/// The rows in one PostgreSQL `COPY ... FROM STDIN`; the rows loaded.
async fn copy_in(
    client: &tokio_postgres::Client,
    spec: &CopySpec,
    columns: &[Column],
    rows: &[Row],
) -> Result<i64, tokio_postgres::Error> {
    let mut data = String::new();
    for row in rows {
        push_postgres_text(&mut data, &row.fields);
    }
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let sql = format!("COPY {} ({}) FROM STDIN", spec.table, names.join(", "));
    let sink = client.copy_in::<_, Bytes>(&sql).await?;
    futures::pin_mut!(sink);
    sink.send(Bytes::from(data)).await?;
    Ok(sink.finish().await? as i64)
}

/// The line of PostgreSQL's `COPY` input its error context names (`COPY t, line 3, column a: "x"`).
fn copy_line(context: &str) -> Option<usize> {
    let (_, after) = context.split_once(", line ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The column PostgreSQL's `COPY` error context names.
fn copy_column(context: &str) -> Option<String> {
    let (_, after) = context.split_once(", column ")?;
    Some(
        after
            .split_once(':')
            .map_or(after, |(name, _)| name)
            .to_string(),
    )
}

/// Redshift's load error code for PostgreSQL's reason to reject a field (Load error reference).
fn postgres_code(state: &SqlState, column: Option<&Column>) -> i32 {
    let type_name = column.map_or("", |c| c.type_name.as_str());
    let integer = ["smallint", "integer", "bigint"].contains(&type_name);
    match state {
        s if *s == SqlState::NOT_NULL_VIOLATION => 1213,
        s if *s == SqlState::STRING_DATA_RIGHT_TRUNCATION => 1204,
        s if *s == SqlState::NUMERIC_VALUE_OUT_OF_RANGE && integer => 1222,
        s if *s == SqlState::NUMERIC_VALUE_OUT_OF_RANGE => 1204,
        s if *s == SqlState::INVALID_DATETIME_FORMAT || *s == SqlState::DATETIME_FIELD_OVERFLOW => {
            if type_name == "date" {
                1205
            } else {
                1206
            }
        }
        s if *s == SqlState::INVALID_TEXT_REPRESENTATION => match type_name {
            _ if integer => 1207,
            "real" | "double precision" => 1208,
            "boolean" => 1210,
            t if t.starts_with("numeric") => 1209,
            "date" => 1205,
            t if t.starts_with("timestamp") => 1206,
            _ => 1200,
        },
        _ => 1200,
    }
}

/// Appends a record in PostgreSQL's `COPY` text format (tab-separated, `\N` for NULL, backslash escapes).
fn push_postgres_text(out: &mut String, record: &[Option<String>]) {
    for (i, field) in record.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match field {
            None => out.push_str("\\N"),
            Some(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_copy_text_escapes() {
        let mut out = String::new();
        push_postgres_text(
            &mut out,
            &[Some("a\tb\\c\nd".into()), None, Some(String::new())],
        );
        assert_eq!(out, "a\\tb\\\\c\\nd\t\\N\t\n");
    }

    #[test]
    fn postgres_copy_context_names_line_and_column() {
        let context = "COPY t, line 3, column id: \"x\"";
        assert_eq!(copy_line(context), Some(3));
        assert_eq!(copy_column(context).as_deref(), Some("id"));
        assert_eq!(copy_line("COPY t, line 12: \"1\t\\N\""), Some(12));
        assert_eq!(copy_column("COPY t, line 12: \"1\""), None);
        assert_eq!(copy_line("SQL statement"), None);
    }
}
