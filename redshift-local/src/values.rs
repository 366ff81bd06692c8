//! Named parameters in, typed values out.
//!
//! The Data API binds `:name` parameters whose values are all strings and lets the database cast them by
//! context. Substituting each as a quoted literal (an untyped constant to PostgreSQL) gives the same semantics.
//! Results come back as text and are typed by the column's type, as the Data API's `Field` union.

use serde_json::{json, Value};
use tokio_postgres::types::Type;

/// Replaces `:name` placeholders outside literals, identifiers, comments and `::` casts with quoted values.
pub(crate) fn bind(sql: &str, params: &[(String, String)]) -> Result<String, String> {
    if params.is_empty() {
        return Ok(sql.to_string());
    }
    substitute(sql, |name| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| quote_literal(v))
            .ok_or_else(|| format!("ERROR: no value given for parameter :{name}"))
    })
}

/// The `:name` placeholders a statement uses: a batch's parameters must each be used by one of its statements.
pub(crate) fn placeholders(sql: &str) -> Vec<String> {
    let mut names = Vec::new();
    let _ = substitute(sql, |name| {
        names.push(name.to_string());
        Ok(String::new())
    });
    names
}

/// Replaces each `:name` placeholder (outside literals, identifiers, comments and `::` casts) with what
/// `replace` makes of its name.
fn substitute(
    sql: &str,
    mut replace: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' | '"' => {
                let end = closing_quote(&chars, i);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            '-' if next == Some('-') => {
                let end = (i..chars.len())
                    .find(|&j| chars[j] == '\n')
                    .unwrap_or(chars.len() - 1);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            '/' if next == Some('*') => {
                let end = (i + 2..chars.len())
                    .find(|&j| chars[j] == '/' && chars[j - 1] == '*')
                    .unwrap_or(chars.len() - 1);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            '$' if dollar_tag(&chars, i).is_some() => {
                let tag = dollar_tag(&chars, i).unwrap_or_default();
                let body_start = i + tag.len();
                let tag_chars: Vec<char> = tag.chars().collect();
                let end = (body_start..chars.len())
                    .find(|&j| chars[j..].starts_with(&tag_chars))
                    .map(|j| j + tag_chars.len() - 1)
                    .unwrap_or(chars.len() - 1);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            ':' if next == Some(':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '_') => {
                let start = i + 1;
                let end = (start..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                    .unwrap_or(chars.len());
                let name: String = chars[start..end].iter().collect();
                out.push_str(&replace(&name)?);
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Index of the quote closing the one at `start` (a doubled quote is an escaped one), or the last index.
fn closing_quote(chars: &[char], start: usize) -> usize {
    let q = chars[start];
    let mut j = start + 1;
    while j < chars.len() {
        if chars[j] == q {
            if chars.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j;
        }
        j += 1;
    }
    chars.len() - 1
}

/// `$tag$` at `i`, if one starts there.
fn dollar_tag(chars: &[char], i: usize) -> Option<String> {
    if i > 0 && (chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let end =
        (i + 1..chars.len()).find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))?;
    if chars[end] != '$' || chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(chars[i..=end].iter().collect())
}

/// A standard-conforming string literal.
pub(crate) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A text value typed as the Data API's `Field` union, by the column's type.
pub(crate) fn field(ty: &Type, text: Option<&str>) -> Value {
    let Some(text) = text else {
        return json!({"isNull": true});
    };
    match *ty {
        Type::BOOL => json!({"booleanValue": text == "t"}),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => match text.parse::<i64>() {
            Ok(n) => json!({"longValue": n}),
            Err(_) => json!({"stringValue": text}),
        },
        Type::FLOAT4 | Type::FLOAT8 => match text.parse::<f64>() {
            Ok(d) if d.is_finite() => json!({"doubleValue": d}),
            _ => json!({"stringValue": text}),
        },
        _ => json!({"stringValue": text}),
    }
}

/// One `GetStatementResultV2` page: a CSV header line of the column names, then one line per row (RFC 4180
/// quoting; NULL is an empty field, an empty string is `""` so the two stay apart).
pub(crate) fn csv_page(columns: &[Value], rows: &[Vec<Value>]) -> String {
    let header = columns
        .iter()
        .map(|c| csv_text(c["name"].as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = header + "\n";
    for row in rows {
        out.push_str(&row.iter().map(csv_field).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A typed `Field` as a CSV field.
fn csv_field(field: &Value) -> String {
    if let Some(n) = field.get("longValue").and_then(Value::as_i64) {
        return n.to_string();
    }
    if let Some(d) = field.get("doubleValue").and_then(Value::as_f64) {
        return d.to_string();
    }
    if let Some(b) = field.get("booleanValue").and_then(Value::as_bool) {
        return b.to_string();
    }
    match field.get("stringValue").and_then(Value::as_str) {
        Some(s) => csv_text(s),
        None => String::new(),
    }
}

/// A text as a CSV field: quoted when it holds a comma, quote or line break, or is empty.
fn csv_text(s: &str) -> String {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The Data API's `ColumnMetadata` for a result column.
pub(crate) fn column_metadata(name: &str, ty: &Type) -> Value {
    let signed = matches!(
        *ty,
        Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC
    );
    json!({
        "isCaseSensitive": matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME),
        "isCurrency": false,
        "isSigned": signed,
        "label": name,
        "name": name,
        "nullable": 1,
        "precision": 0,
        "scale": 0,
        "schemaName": "",
        "tableName": "",
        "typeName": ty.name(),
        "length": 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn binds_outside_literals_and_casts() {
        let params = p(&[("id", "5"), ("name", "O'Brien")]);
        assert_eq!(
            bind(
                "select :id::int, ':id', \":id\", :name -- :id\n, $$ :id $$",
                &params
            )
            .unwrap(),
            "select '5'::int, ':id', \":id\", 'O''Brien' -- :id\n, $$ :id $$"
        );
        assert_eq!(
            bind("select 'it''s :id', :id", &params).unwrap(),
            "select 'it''s :id', '5'"
        );
        assert!(bind("select :missing", &params)
            .unwrap_err()
            .contains(":missing"));
        assert_eq!(bind("select :x", &[]).unwrap(), "select :x");
    }

    #[test]
    fn finds_placeholders_outside_literals() {
        assert_eq!(
            placeholders("select :a, ':b', :c::int -- :d\n, :a"),
            ["a", "c", "a"]
        );
    }

    #[test]
    fn csv_quotes_and_keeps_null_apart_from_empty() {
        let columns = [json!({"name": "id"}), json!({"name": "s,t"})];
        let rows = [
            vec![json!({"longValue": 1}), json!({"stringValue": "a, \"b\""})],
            vec![json!({"doubleValue": 1.5}), json!({"isNull": true})],
            vec![json!({"booleanValue": true}), json!({"stringValue": ""})],
        ];
        assert_eq!(
            csv_page(&columns, &rows),
            "id,\"s,t\"\n1,\"a, \"\"b\"\"\"\n1.5,\ntrue,\"\"\n"
        );
    }

    #[test]
    fn typed_fields() {
        assert_eq!(
            field(&Type::INT8, Some("9000000000")),
            json!({"longValue": 9000000000i64})
        );
        assert_eq!(
            field(&Type::BOOL, Some("f")),
            json!({"booleanValue": false})
        );
        assert_eq!(
            field(&Type::FLOAT8, Some("1.5")),
            json!({"doubleValue": 1.5})
        );
        assert_eq!(
            field(&Type::NUMERIC, Some("12.30")),
            json!({"stringValue": "12.30"})
        );
        assert_eq!(field(&Type::TEXT, None), json!({"isNull": true}));
    }
}
