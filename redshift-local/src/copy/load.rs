//! Running a `COPY`: the target table's columns as PostgreSQL describes them, every object under the prefix read
//! into records, and all of them loaded in one PostgreSQL `COPY ... FROM STDIN`, so a bad row loads nothing and
//! its error is PostgreSQL's own.

use super::error::CopyError;
use super::formats::{decode, load_error, records, Column};
use super::s3::{get_object, list_keys};
use super::spec::CopySpec;
use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::types::Type;

/// The target columns of a `COPY`, from PostgreSQL's own description of them.
async fn target_columns(
    client: &tokio_postgres::Client,
    spec: &CopySpec,
) -> Result<Vec<Column>, CopyError> {
    let exists: Option<String> = client
        .query_one("select to_regclass($1)::text", &[&spec.table])
        .await?
        .get(0);
    if exists.is_none() {
        return Err(CopyError::NoSuchTable(spec.table.clone()));
    }
    let list = if spec.columns.is_empty() {
        "*".to_string()
    } else {
        spec.columns.join(", ")
    };
    let described = client
        .prepare(&format!("select {list} from {} limit 0", spec.table))
        .await?;
    Ok(described
        .columns()
        .iter()
        .map(|c| Column {
            name: quote_ident(c.name()),
            is_text: matches!(
                *c.type_(),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME
            ),
        })
        .collect())
}

/// A PostgreSQL quoted identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `COPY`: every object under the prefix, in key order, loaded in one PostgreSQL `COPY ... FROM STDIN`.
pub(super) async fn copy(
    client: &tokio_postgres::Client,
    s3: &aws_sdk_s3::Client,
    spec: &CopySpec,
) -> Result<i64, CopyError> {
    let columns = target_columns(client, spec).await?;
    let keys = list_keys(s3, &spec.source).await?;
    if keys.is_empty() {
        return Err(CopyError::NoSuchPrefix(spec.source.prefix.clone()));
    }
    let mut data = String::new();
    for key in &keys {
        let raw = get_object(s3, &spec.source.bucket, key).await?;
        let text = decode(spec, key, &raw)?;
        let records = records(spec, &columns, &text).map_err(|detail| {
            load_error(spec, format!("s3://{}/{key}: {detail}", spec.source.bucket))
        })?;
        for record in records {
            push_postgres_text(&mut data, &record);
        }
    }
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let sql = format!("COPY {} ({}) FROM STDIN", spec.table, names.join(", "));
    let sink = client.copy_in::<_, Bytes>(&sql).await?;
    futures::pin_mut!(sink);
    sink.send(Bytes::from(data)).await?;
    Ok(sink.finish().await? as i64)
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
}
