//! Running an `UNLOAD`: the query (translated from Redshift SQL) run on PostgreSQL, and its rows written to the
//! local S3 as one part file, as text or CSV, gzipped with `GZIP`, named as Redshift names slice 0's; with
//! `MANIFEST`, a `<prefix>manifest` object listing it.
//!
//! `PARALLEL` changes only the part file's name locally (`0000_part_00` for slice 0 of a parallel unload, `000`
//! serially): PostgreSQL is one slice, so both write one file.

use super::error::CopyError;
use super::manifest::unload_manifest;
use super::s3::{list_keys, s3_error};
use super::spec::{Format, UnloadSpec};
use std::io::Write;
use tokio_postgres::SimpleQueryMessage;

/// The object key of the (single) part file, as Redshift names it for slice 0.
pub(super) fn part_key(spec: &UnloadSpec) -> String {
    let name = if spec.parallel { "0000_part_00" } else { "000" };
    let gz = if spec.gzip { ".gz" } else { "" };
    format!("{}{name}{gz}", spec.target.prefix)
}

/// `UNLOAD`: the query (translated from Redshift SQL) run on PostgreSQL, its rows written as one part file.
pub(super) async fn unload(
    client: &tokio_postgres::Client,
    s3: &aws_sdk_s3::Client,
    spec: &UnloadSpec,
) -> Result<i64, CopyError> {
    if !spec.allow_overwrite && !list_keys(s3, &spec.target).await?.is_empty() {
        return Err(CopyError::DestinationNotEmpty);
    }
    let sql = crate::dialect::to_postgres(&spec.query);
    let (names, rows) = query_text_rows(client, &sql).await?;
    let mut body = String::new();
    if spec.header {
        push_unload_line(&mut body, spec, names.iter().map(|n| Some(n.as_str())));
    }
    for row in &rows {
        push_unload_line(&mut body, spec, row.iter().map(Option::as_deref));
    }
    let bytes = if spec.gzip {
        gzip(body.as_bytes())
    } else {
        body.into_bytes()
    };
    let key = part_key(spec);
    s3.put_object()
        .bucket(&spec.target.bucket)
        .key(&key)
        .body(bytes.into())
        .send()
        .await
        .map_err(s3_error)?;
    if spec.manifest {
        s3.put_object()
            .bucket(&spec.target.bucket)
            .key(format!("{}manifest", spec.target.prefix))
            .body(
                unload_manifest(&spec.target.bucket, &[key])
                    .into_bytes()
                    .into(),
            )
            .send()
            .await
            .map_err(s3_error)?;
    }
    Ok(rows.len() as i64)
}

/// A query's column names and its rows as PostgreSQL's text output.
async fn query_text_rows(
    client: &tokio_postgres::Client,
    sql: &str,
) -> Result<(Vec<String>, Vec<Vec<Option<String>>>), CopyError> {
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for message in client.simple_query(sql).await? {
        match message {
            SimpleQueryMessage::RowDescription(columns) => {
                names = columns.iter().map(|c| c.name().to_string()).collect();
            }
            SimpleQueryMessage::Row(row) => {
                rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
            _ => {}
        }
    }
    Ok((names, rows))
}

/// Appends one unloaded line: CSV fields quoted when they hold the delimiter, a quote or a line break (quotes
/// doubled); text fields with `ESCAPE` get a backslash before each line break, delimiter, backslash and (with
/// `ADDQUOTES`) quote, and with `ADDQUOTES` are put in double quotes (UNLOAD parameters,
/// <https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html>); NULL is the `NULL AS` string.
fn push_unload_line<'a>(
    out: &mut String,
    spec: &UnloadSpec,
    fields: impl Iterator<Item = Option<&'a str>>,
) {
    let delimiter = match spec.format {
        Format::Text { delimiter } | Format::Csv { delimiter, .. } => delimiter,
        Format::Json { .. } => ',',
    };
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        match (field, &spec.format) {
            (None, _) => out.push_str(&spec.null_as),
            (Some(text), Format::Csv { quote, .. })
                if text.contains([delimiter, *quote, '\n', '\r']) =>
            {
                let doubled = text.replace(*quote, &format!("{quote}{quote}"));
                out.push(*quote);
                out.push_str(&doubled);
                out.push(*quote);
            }
            (Some(text), Format::Text { .. }) => {
                if spec.add_quotes {
                    out.push('"');
                }
                for c in text.chars() {
                    let special = matches!(c, '\n' | '\r' | '\\')
                        || c == delimiter
                        || (spec.add_quotes && matches!(c, '"' | '\''));
                    if spec.escape && special {
                        out.push('\\');
                    }
                    out.push(c);
                }
                if spec.add_quotes {
                    out.push('"');
                }
            }
            (Some(text), _) => out.push_str(text),
        }
    }
    out.push('\n');
}

/// Gzip-compresses a part file.
pub(super) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::test_support::{unload_of, ROLE};

    #[test]
    fn unload_lines() {
        let mut spec = unload_of(&format!("unload ('select 1') to 's3://b/p' {ROLE} csv"));
        let mut out = String::new();
        push_unload_line(
            &mut out,
            &spec,
            [Some("a,b"), None, Some("q\"q"), Some("x")].into_iter(),
        );
        assert_eq!(out, "\"a,b\",,\"q\"\"q\",x\n");
        spec.format = Format::Text { delimiter: '|' };
        spec.null_as = "\\N".into();
        out.clear();
        push_unload_line(&mut out, &spec, [Some("a,b"), None].into_iter());
        assert_eq!(out, "a,b|\\N\n");
        let spec = unload_of(&format!(
            "unload ('select 1') to 's3://b/p' {ROLE} addquotes escape"
        ));
        for (field, want) in [
            ("plain", "\"plain\"\n"),
            ("a|b", "\"a\\|b\"\n"),
            ("say \"hi\"", "\"say \\\"hi\\\"\"\n"),
            ("two\nlines\\", "\"two\\\nlines\\\\\"\n"),
        ] {
            out.clear();
            push_unload_line(&mut out, &spec, [Some(field)].into_iter());
            assert_eq!(out, want, "{field}");
        }
        let spec = unload_of(&format!(
            "unload ('select 1') to 's3://b/p' {ROLE} addquotes"
        ));
        out.clear();
        push_unload_line(&mut out, &spec, [Some("a|b"), None].into_iter());
        assert_eq!(out, "\"a|b\"|\n");
    }
}
