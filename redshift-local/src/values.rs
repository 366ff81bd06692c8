//! Named parameters in, typed values out.
//!
//! The Data API binds `:name` parameters whose values are all strings and lets the database cast them by
//! context. Substituting each as a quoted literal (an untyped constant to PostgreSQL) gives the same semantics.
//! Results come back as text and are typed by the column's type, as the Data API's `Field` union.

use tokio_postgres::types::Type;

/// A result value typed as the Data API's `Field` union types it: the clients read numbers and booleans as
/// such, not as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// SQL NULL (`isNull`).
    Null,
    /// A boolean column (`booleanValue`).
    Bool(bool),
    /// An integer column (`longValue`).
    Long(i64),
    /// A finite floating-point value (`doubleValue`).
    Double(f64),
    /// Anything else, as PostgreSQL's text (`stringValue`).
    Text(String),
}

/// A column's `ColumnMetadata`: result columns and `DescribeTable`'s columns share the shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    /// Its schema (empty for a result column: the service does not trace result columns to tables).
    pub(crate) schema_name: String,
    /// Its table (empty for a result column).
    pub(crate) table_name: String,
    /// Its name (and label).
    pub(crate) name: String,
    /// Whether it may hold NULL (a result column always may).
    pub(crate) nullable: bool,
    /// Its default, for a described table's column that has one.
    pub(crate) default: Option<String>,
    /// Its declared length (0 when it has none).
    pub(crate) length: i32,
    /// Its precision (0 when it has none).
    pub(crate) precision: i32,
    /// Its scale (0 when it has none).
    pub(crate) scale: i32,
    /// Whether comparisons of its text are case-sensitive (text types).
    pub(crate) case_sensitive: bool,
    /// Whether it is a signed number.
    pub(crate) signed: bool,
    /// PostgreSQL's type name, e.g. `int4`.
    pub(crate) type_name: String,
}

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
pub(crate) fn field(ty: &Type, text: Option<&str>) -> Cell {
    let Some(text) = text else {
        return Cell::Null;
    };
    match *ty {
        Type::BOOL => Cell::Bool(text == "t"),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => match text.parse::<i64>() {
            Ok(n) => Cell::Long(n),
            Err(_) => Cell::Text(text.to_string()),
        },
        Type::FLOAT4 | Type::FLOAT8 => match text.parse::<f64>() {
            Ok(d) if d.is_finite() => Cell::Double(d),
            _ => Cell::Text(text.to_string()),
        },
        _ => Cell::Text(text.to_string()),
    }
}

/// The `ColumnMetadata` of a result column: its name and type, the rest as the service reports for results.
pub(crate) fn column_metadata(name: &str, ty: &Type) -> Column {
    Column {
        schema_name: String::new(),
        table_name: String::new(),
        name: name.to_string(),
        nullable: true,
        default: None,
        length: 0,
        precision: 0,
        scale: 0,
        case_sensitive: matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME),
        signed: matches!(
            *ty,
            Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC
        ),
        type_name: ty.name().to_string(),
    }
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
    fn typed_fields() {
        assert_eq!(
            field(&Type::INT8, Some("9000000000")),
            Cell::Long(9000000000)
        );
        assert_eq!(field(&Type::BOOL, Some("f")), Cell::Bool(false));
        assert_eq!(field(&Type::FLOAT8, Some("1.5")), Cell::Double(1.5));
        assert_eq!(field(&Type::FLOAT8, Some("NaN")), Cell::Text("NaN".into()));
        assert_eq!(
            field(&Type::NUMERIC, Some("12.30")),
            Cell::Text("12.30".into())
        );
        assert_eq!(field(&Type::TEXT, None), Cell::Null);
    }
}
