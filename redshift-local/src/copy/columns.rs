//! The columns a `COPY` loads, as PostgreSQL's catalog describes them: name, type, length limit and whether it
//! is an identity column, chosen by the column list and `EXPLICIT_IDS` as Redshift chooses them.

use super::error::CopyError;
use super::spec::CopySpec;

/// What a column's values are, for the conversions `COPY` makes before PostgreSQL reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    /// `VARCHAR`, `CHAR`, `TEXT`: an empty field is an empty string; `max_bytes` is the declared length.
    Text { max_bytes: Option<usize> },
    /// `DATE`: read with `DATEFORMAT`.
    Date,
    /// `TIMESTAMP`, `TIMESTAMPTZ`: read with `TIMEFORMAT`.
    Timestamp,
    /// Anything else: PostgreSQL reads the field as it is.
    Other,
}

/// A target column.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Column {
    /// Quoted for SQL.
    pub(super) name: String,
    pub(super) kind: Kind,
    /// PostgreSQL's name of its type (`character varying`, `integer`, ...), for `stl_load_errors.type`.
    pub(super) type_name: String,
}

impl Column {
    /// Whether an empty field is an empty string rather than NULL.
    pub(super) fn is_text(&self) -> bool {
        matches!(self.kind, Kind::Text { .. })
    }

    /// Its name without SQL quoting.
    pub(super) fn bare_name(&self) -> String {
        self.name.trim_matches('"').replace("\"\"", "\"")
    }
}

/// A PostgreSQL quoted identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A name as written in SQL, as the catalog holds it (quoted: as is; unquoted: lowercased).
fn catalog_name(written: &str) -> String {
    match written
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => written.to_lowercase(),
    }
}

/// The columns a `COPY` loads, in the order of the data's fields: the column list, or every column with the
/// identity columns left out unless `EXPLICIT_IDS` ("If no column list is specified, the command behaves as if a
/// complete, in-order column list was specified, with IDENTITY columns omitted if EXPLICIT_IDS was also not
/// specified", Column mapping options, <https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-column-mapping.html>).
pub(super) async fn target_columns(
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
    let rows = client
        .query(
            "select a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text, \
             case when t.typname in ('varchar', 'bpchar') and a.atttypmod > 4 then a.atttypmod - 4 end, \
             a.attidentity <> '' \
             from pg_attribute a join pg_type t on t.oid = a.atttypid \
             where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum",
            &[&spec.table],
        )
        .await?;
    let all: Vec<(String, Column, bool)> = rows
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            let typname: String = row.get(2);
            let length: Option<i32> = row.get(3);
            let kind = match typname.as_str() {
                "varchar" | "bpchar" | "text" | "name" => Kind::Text {
                    max_bytes: length.map(|n| n as usize),
                },
                "date" => Kind::Date,
                "timestamp" | "timestamptz" => Kind::Timestamp,
                _ => Kind::Other,
            };
            let column = Column {
                name: quote_ident(&name),
                kind,
                type_name: row.get(1),
            };
            (name, column, row.get(4))
        })
        .collect();
    if spec.columns.is_empty() {
        return Ok(all
            .into_iter()
            .filter(|(_, _, identity)| spec.explicit_ids || !identity)
            .map(|(_, column, _)| column)
            .collect());
    }
    let mut chosen = Vec::new();
    for written in &spec.columns {
        let name = catalog_name(written);
        let Some((_, column, _)) = all.iter().find(|(n, _, _)| *n == name) else {
            return Err(CopyError::InvalidOption(format!(
                "column \"{name}\" of relation \"{}\" does not exist",
                spec.table
            )));
        };
        chosen.push(column.clone());
    }
    // "if an IDENTITY column is omitted, then EXPLICIT_IDS can't be specified" (Column mapping options).
    if spec.explicit_ids
        && all
            .iter()
            .any(|(_, c, identity)| *identity && !chosen.contains(c))
    {
        return Err(CopyError::InvalidOption(
            "EXPLICIT_IDS with a column list that leaves out the identity column".into(),
        ));
    }
    Ok(chosen)
}
