//! Reading a `COPY`'s data files: an object's bytes gunzipped (with `GZIP`) and checked as UTF-8, then split into
//! records as pipe-delimited text, CSV or JSON `'auto'`, with Redshift's NULL rules applied to each field.

use super::error::CopyError;
use super::spec::{CopySpec, Format};
use std::io::Read;

/// A target column: its name (quoted for SQL) and whether it holds text (where an empty field is an empty string).
pub(super) struct Column {
    pub(super) name: String,
    pub(super) is_text: bool,
}

/// Redshift's load failure for a data file that is not what the statement says.
pub(super) fn load_error(spec: &CopySpec, detail: String) -> CopyError {
    CopyError::Load {
        table: spec.table.clone(),
        detail,
    }
}

/// An object's text: gunzipped with `GZIP`, UTF-8 as Redshift requires.
pub(super) fn decode(spec: &CopySpec, key: &str, raw: &[u8]) -> Result<String, CopyError> {
    let where_ = |what: &str| format!("s3://{}/{key}: {what}", spec.source.bucket);
    let bytes = if spec.gzip {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw)
            .read_to_end(&mut out)
            .map_err(|e| load_error(spec, where_(&format!("not gzip data ({e})"))))?;
        out
    } else {
        raw.to_vec()
    };
    String::from_utf8(bytes).map_err(|_| load_error(spec, where_("not UTF-8")))
}

/// The records of one file, one optional value per field (`None` is NULL).
pub(super) fn records(
    spec: &CopySpec,
    columns: &[Column],
    text: &str,
) -> Result<Vec<Vec<Option<String>>>, String> {
    match &spec.format {
        Format::Json { ignore_case } => json_records(columns, text, *ignore_case),
        Format::Text { delimiter } => Ok(skip_lines(text, spec.ignore_header)
            .split_terminator('\n')
            .map(|line| {
                let fields = line.split(*delimiter).map(|f| (f.to_string(), false));
                with_nulls(spec, columns, fields)
            })
            .collect()),
        Format::Csv { delimiter, quote } => {
            let rows = csv_rows(skip_lines(text, spec.ignore_header), *delimiter, *quote)?;
            Ok(rows
                .into_iter()
                .map(|fields| with_nulls(spec, columns, fields.into_iter()))
                .collect())
        }
    }
}

/// The text after the first `n` lines (`IGNOREHEADER`, applied to each file as Redshift does).
fn skip_lines(text: &str, n: u64) -> &str {
    let mut rest = text;
    for _ in 0..n {
        rest = rest.split_once('\n').map_or("", |(_, after)| after);
    }
    rest
}

/// Applies Redshift's NULL rules to a delimited record's fields (`(text, was_quoted)`): the `NULL AS` string is
/// NULL; an empty field is NULL except in a text column (there it is an empty string unless `EMPTYASNULL`); a
/// blank text field is NULL with `BLANKSASNULL`.
fn with_nulls(
    spec: &CopySpec,
    columns: &[Column],
    fields: impl Iterator<Item = (String, bool)>,
) -> Vec<Option<String>> {
    fields
        .enumerate()
        .map(|(i, (field, quoted))| {
            let is_text = columns.get(i).is_some_and(|c| c.is_text);
            let null = (!quoted && field == spec.null_as)
                || (field.is_empty() && !quoted && (!is_text || spec.empty_as_null))
                || (is_text && spec.blanks_as_null && field.trim().is_empty() && !field.is_empty());
            (!null).then_some(field)
        })
        .collect()
}

/// Splits CSV text into records of `(field, was_quoted)`: quoted fields may hold delimiters, newlines and doubled
/// quotes.
fn csv_rows(text: &str, delimiter: char, quote: char) -> Result<Vec<Vec<(String, bool)>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut in_quotes, mut line) = (false, false, 1usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                c if c == quote && chars.peek() == Some(&quote) => {
                    field.push(quote);
                    chars.next();
                }
                c if c == quote => in_quotes = false,
                c => {
                    line += usize::from(c == '\n');
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            c if c == quote && field.trim().is_empty() => {
                field.clear();
                quoted = true;
                in_quotes = true;
            }
            c if c == delimiter => {
                row.push((std::mem::take(&mut field), std::mem::take(&mut quoted)))
            }
            '\n' => {
                if field.ends_with('\r') && !quoted {
                    field.pop();
                }
                row.push((std::mem::take(&mut field), std::mem::take(&mut quoted)));
                rows.push(std::mem::take(&mut row));
                line += 1;
            }
            c if quoted && !c.is_whitespace() => {
                return Err(format!("line {line}: text after a closing quote"))
            }
            _ if quoted => {}
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {line}: unterminated quoted field"));
    }
    if !field.is_empty() || quoted || !row.is_empty() {
        row.push((field, quoted));
        rows.push(row);
    }
    Ok(rows)
}

/// JSON `'auto'`: a sequence of objects; each column takes the value of the key with its name (exactly, as
/// Redshift's lowercase column names require, or ignoring case with `'auto ignorecase'`); missing keys are NULL.
fn json_records(
    columns: &[Column],
    text: &str,
    ignore_case: bool,
) -> Result<Vec<Vec<Option<String>>>, String> {
    let names: Vec<String> = columns
        .iter()
        .map(|c| c.name.trim_matches('"').replace("\"\"", "\""))
        .collect();
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .map(|value| {
            let value = value.map_err(|e| format!("invalid JSON: {e}"))?;
            let serde_json::Value::Object(object) = value else {
                return Err("a JSON record is not an object ('auto' needs objects)".to_string());
            };
            Ok(names
                .iter()
                .map(|name| {
                    object
                        .iter()
                        .find(|(k, _)| {
                            if ignore_case {
                                k.eq_ignore_ascii_case(name)
                            } else {
                                *k == name
                            }
                        })
                        .and_then(|(_, v)| json_field(v))
                })
                .collect())
        })
        .collect()
}

/// A JSON value as a field: strings as themselves, numbers and booleans as their text, nested values as JSON.
fn json_field(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::test_support::{copy_of, ROLE};
    use crate::copy::unload::gzip;

    fn columns(kinds: &[bool]) -> Vec<Column> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, is_text)| Column {
                name: format!("\"c{i}\""),
                is_text: *is_text,
            })
            .collect()
    }

    #[test]
    fn text_fields_follow_redshifts_null_rules() {
        let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE}"));
        let cols = columns(&[false, true, true, false]);
        let rows = records(&spec, &cols, "1|a||\n\\N|\\N|x|7\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Some("1".into()), Some("a".into()), Some("".into()), None],
                vec![None, None, Some("x".into()), Some("7".into())],
            ]
        );
        let spec = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} emptyasnull blanksasnull ignoreheader 1"
        ));
        let rows = records(&spec, &cols, "h|h|h|h\n1|| |2").unwrap();
        assert_eq!(
            rows,
            vec![vec![Some("1".into()), None, None, Some("2".into())]]
        );
    }

    #[test]
    fn csv_quotes_delimiters_and_line_breaks() {
        let rows = csv_rows(
            "a,\"b,c\",\"say \"\"hi\"\"\"\n\"two\nlines\",,\r\n",
            ',',
            '"',
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                vec![
                    ("a".to_string(), false),
                    ("b,c".to_string(), true),
                    ("say \"hi\"".to_string(), true)
                ],
                vec![
                    ("two\nlines".to_string(), true),
                    (String::new(), false),
                    (String::new(), false)
                ],
            ]
        );
        assert!(csv_rows("\"open", ',', '"').is_err());
        assert!(csv_rows("\"a\"b", ',', '"').is_err());
    }

    #[test]
    fn json_auto_matches_lowercase_names_or_ignores_case() {
        let cols = columns(&[false, true]);
        let text = r#"{"c0": 1, "c1": "x"} {"C0": 2, "c1": null, "other": true}
            {"c1": {"n": [1]}}"#;
        assert_eq!(
            json_records(&cols, text, false).unwrap(),
            vec![
                vec![Some("1".into()), Some("x".into())],
                vec![None, None],
                vec![None, Some(r#"{"n":[1]}"#.into())],
            ]
        );
        assert_eq!(
            json_records(&cols, text, true).unwrap()[1][0],
            Some("2".into())
        );
        assert!(json_records(&cols, "[1, 2]", false).is_err());
        assert!(json_records(&cols, "{\"c0\": ", false).is_err());
    }

    #[test]
    fn gzip_round_trips() {
        let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE} gzip"));
        assert_eq!(decode(&spec, "k", &gzip(b"1|a\n")).unwrap(), "1|a\n");
        assert!(decode(&spec, "k", b"1|a\n")
            .unwrap_err()
            .to_string()
            .contains("not gzip data"));
    }
}
