//! Reading a `COPY`'s data files: an object's bytes gunzipped (with `GZIP`) and checked as UTF-8, then split into
//! records as pipe-delimited text, CSV or JSON `'auto'`, with Redshift's NULL rules applied to each field.

use super::error::CopyError;
use super::spec::{CopySpec, Format};
use std::io::Read;

use super::columns::Column;

/// A record read from a data file, before its fields are converted for its columns.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Record {
    /// Its (last, for JSON) line in the file, counting from 1 and counting header lines.
    pub(super) line: u64,
    /// Its text as it is in the file (for `stl_load_errors.raw_line`).
    pub(super) raw: String,
    /// One optional value per field (`None` is NULL).
    pub(super) fields: Vec<Option<String>>,
}

/// Redshift's load failure for a data file that is not what the statement says.
pub(super) fn load_error(spec: &CopySpec, detail: String) -> CopyError {
    CopyError::Load {
        table: spec.table.clone(),
        detail,
    }
}

/// A data file that cannot be read at all as the statement says: where, and Redshift's load error code for it
/// (Load error reference, <https://docs.aws.amazon.com/redshift/latest/dg/r_Load_Error_Reference.html>).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FileError {
    /// The line it was found on (0 when the file as a whole is at fault).
    pub(super) line: u64,
    pub(super) code: i32,
    pub(super) reason: String,
}

impl FileError {
    /// "Unknown parse error" (1200), "Input line is not valid" (1216), "String contains invalid or unsupported
    /// UTF-8 code points" (1220), "malformed JSON" (1224).
    fn new(line: u64, code: i32, reason: impl Into<String>) -> FileError {
        FileError {
            line,
            code,
            reason: reason.into(),
        }
    }
}

/// An object's text: gunzipped with `GZIP`, UTF-8 as Redshift requires. With `ACCEPTINVCHARS`, each byte of an
/// invalid UTF-8 sequence becomes the replacement character ("an invalid three-byte character will be replaced
/// with '^^^'", data conversion parameters).
pub(super) fn decode(spec: &CopySpec, raw: &[u8]) -> Result<String, FileError> {
    let bytes = if spec.gzip {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw)
            .read_to_end(&mut out)
            .map_err(|e| FileError::new(0, 1200, format!("not gzip data ({e})")))?;
        out
    } else {
        raw.to_vec()
    };
    match (String::from_utf8(bytes), spec.accept_inv_chars) {
        (Ok(text), _) => Ok(text),
        (Err(e), Some(replacement)) => Ok(replace_invalid_utf8(e.as_bytes(), replacement)),
        (Err(e), None) => {
            let at = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() as u64;
            Err(FileError::new(
                line,
                1220,
                "String contains invalid or unsupported UTF8 codepoints (use ACCEPTINVCHARS)",
            ))
        }
    }
}

/// `bytes` as text, each byte of each invalid UTF-8 sequence replaced by `replacement`.
fn replace_invalid_utf8(mut bytes: &[u8], replacement: char) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                out.extend(std::iter::repeat_n(replacement, bad));
                bytes = &rest[bad..];
            }
        }
    }
}

/// The records of one file.
pub(super) fn records(
    spec: &CopySpec,
    columns: &[Column],
    text: &str,
) -> Result<Vec<Record>, FileError> {
    let skipped = skip_lines(text, spec.ignore_header);
    let first_line = 1 + text[..text.len() - skipped.len()].matches('\n').count() as u64;
    match &spec.format {
        Format::Json { ignore_case } => json_records(columns, text, *ignore_case)
            .map_err(|(line, reason)| FileError::new(line, 1224, reason)),
        Format::Text { delimiter } => Ok(text_lines(skipped, spec.escape)
            .into_iter()
            .map(|(offset, raw)| {
                let fields = split_text(&raw, *delimiter, spec);
                Record {
                    line: first_line + offset,
                    fields: with_nulls(spec, columns, fields.into_iter()),
                    raw,
                }
            })
            .collect()),
        Format::Csv { delimiter, quote } => {
            let rows = csv_rows(skipped, *delimiter, *quote)
                .map_err(|(line, reason)| FileError::new(first_line + line, 1216, reason))?;
            Ok(rows
                .into_iter()
                .map(|(offset, raw, fields)| Record {
                    line: first_line + offset,
                    raw,
                    fields: with_nulls(spec, columns, fields.into_iter()),
                })
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

/// The records of delimited text with their line offsets (from 0); with `ESCAPE`, a backslash before a line
/// break keeps the break in the record.
fn text_lines(text: &str, escape: bool) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let (mut record, mut start, mut line) = (String::new(), 0u64, 0u64);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escape => {
                record.push(c);
                if let Some(next) = chars.next() {
                    line += u64::from(next == '\n');
                    record.push(next);
                }
            }
            '\n' => {
                line += 1;
                out.push((start, std::mem::take(&mut record)));
                start = line;
            }
            c => record.push(c),
        }
    }
    if !record.is_empty() {
        out.push((start, record));
    }
    out
}

/// Splits one text record into `(field, was_quoted)`: with `ESCAPE` a backslash makes the next character part of
/// the field; with `REMOVEQUOTES` a field in double quotes loses them and keeps the delimiters inside. A field
/// written as the `NULL AS` string stays that string (so that `\N` is NULL with `ESCAPE` too).
fn split_text(line: &str, delimiter: char, spec: &CopySpec) -> Vec<(String, bool)> {
    let (escape, remove_quotes) = (spec.escape, spec.remove_quotes);
    if !escape && !remove_quotes {
        return line
            .split(delimiter)
            .map(|f| (f.to_string(), false))
            .collect();
    }
    let mut fields = Vec::new();
    let (mut field, mut quoted, mut in_quotes) = (String::new(), false, false);
    let mut raw_start = 0;
    let mut chars = line.char_indices();
    let push = |fields: &mut Vec<(String, bool)>, field: String, quoted: bool, raw: &str| {
        if !quoted && raw == spec.null_as {
            fields.push((raw.to_string(), false));
        } else {
            fields.push((field, quoted));
        }
    };
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' if escape => field.extend(chars.next().map(|(_, c)| c)),
            '"' if remove_quotes && in_quotes => in_quotes = false,
            '"' if remove_quotes && field.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
            }
            c if c == delimiter && !in_quotes => {
                let raw = &line[raw_start..at];
                push(
                    &mut fields,
                    std::mem::take(&mut field),
                    std::mem::take(&mut quoted),
                    raw,
                );
                raw_start = at + c.len_utf8();
            }
            c => field.push(c),
        }
    }
    push(&mut fields, field, quoted, &line[raw_start..]);
    fields
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
            let is_text = columns.get(i).is_some_and(Column::is_text);
            let null = (!quoted && field == spec.null_as)
                || (field.is_empty() && !quoted && (!is_text || spec.empty_as_null))
                || (is_text && spec.blanks_as_null && field.trim().is_empty() && !field.is_empty());
            (!null).then_some(field)
        })
        .collect()
}

/// A CSV record: its line offset (from 0), its raw text and its `(field, was_quoted)` fields.
type CsvRow = (u64, String, Vec<(String, bool)>);

/// Splits CSV text into records: quoted fields may hold delimiters, newlines and doubled quotes.
/// A failure names its line offset (from 0).
fn csv_rows(text: &str, delimiter: char, quote: char) -> Result<Vec<CsvRow>, (u64, String)> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut in_quotes, mut line) = (false, false, 0u64);
    let (mut start, mut start_line) = (0usize, 0u64);
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if in_quotes {
            match c {
                c if c == quote && chars.peek().map(|p| p.1) == Some(quote) => {
                    field.push(quote);
                    chars.next();
                }
                c if c == quote => in_quotes = false,
                c => {
                    line += u64::from(c == '\n');
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
                let raw = text[start..at].trim_end_matches('\r').to_string();
                rows.push((start_line, raw, std::mem::take(&mut row)));
                line += 1;
                (start, start_line) = (at + 1, line);
            }
            c if quoted && !c.is_whitespace() => {
                return Err((line, "text after a closing quote".into()))
            }
            _ if quoted => {}
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err((start_line, "unterminated quoted field".into()));
    }
    if !field.is_empty() || quoted || !row.is_empty() {
        row.push((field, quoted));
        rows.push((start_line, text[start..].to_string(), row));
    }
    Ok(rows)
}

/// JSON `'auto'`: a sequence of objects; each column takes the value of the key with its name (exactly, as
/// Redshift's lowercase column names require, or ignoring case with `'auto ignorecase'`); missing keys are NULL.
/// A record's line is the last line of its object, as `stl_load_errors` counts for JSON.
/// A failure names its line.
fn json_records(
    columns: &[Column],
    text: &str,
    ignore_case: bool,
) -> Result<Vec<Record>, (u64, String)> {
    let names: Vec<String> = columns
        .iter()
        .map(|c| c.name.trim_matches('"').replace("\"\"", "\""))
        .collect();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    let mut records = Vec::new();
    let mut from = 0;
    while let Some(value) = stream.next() {
        let value = value.map_err(|e| (e.line() as u64, format!("invalid JSON: {e}")))?;
        let to = stream.byte_offset();
        let line = 1 + text[..to].matches('\n').count() as u64;
        let serde_json::Value::Object(object) = value else {
            return Err((
                line,
                "a JSON record is not an object ('auto' needs objects)".to_string(),
            ));
        };
        let fields = names
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
            .collect();
        records.push(Record {
            line,
            raw: text[from..to].trim().to_string(),
            fields,
        });
        from = to;
    }
    Ok(records)
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
    use crate::copy::columns::Kind;
    use crate::copy::test_support::{copy_of, ROLE};
    use crate::copy::unload::gzip;

    fn columns(kinds: &[bool]) -> Vec<Column> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, is_text)| Column {
                name: format!("\"c{i}\""),
                kind: if *is_text {
                    Kind::Text { max_bytes: None }
                } else {
                    Kind::Other
                },
                type_name: String::new(),
            })
            .collect()
    }

    fn fields(records: Vec<Record>) -> Vec<Vec<Option<String>>> {
        records.into_iter().map(|r| r.fields).collect()
    }

    #[test]
    fn text_fields_follow_redshifts_null_rules() {
        let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE}"));
        let cols = columns(&[false, true, true, false]);
        let rows = fields(records(&spec, &cols, "1|a||\n\\N|\\N|x|7\n").unwrap());
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
        let rows = fields(records(&spec, &cols, "h|h|h|h\n1|| |2").unwrap());
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
        let lines: Vec<(u64, &str)> = rows.iter().map(|r| (r.0, r.1.as_str())).collect();
        assert_eq!(
            lines,
            vec![(0, "a,\"b,c\",\"say \"\"hi\"\"\""), (1, "\"two\nlines\",,")]
        );
        let rows: Vec<_> = rows.into_iter().map(|r| r.2).collect();
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
        assert_eq!(csv_rows("a\n\"open", ',', '"').unwrap_err().0, 1);
        assert_eq!(csv_rows("\"a\"b", ',', '"').unwrap_err().0, 0);
    }

    #[test]
    fn json_auto_matches_lowercase_names_or_ignores_case() {
        let cols = columns(&[false, true]);
        let text = r#"{"c0": 1, "c1": "x"} {"C0": 2, "c1": null, "other": true}
            {"c1": {"n": [1]}}"#;
        let read = json_records(&cols, text, false).unwrap();
        assert_eq!(
            read.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![1, 1, 2]
        );
        assert_eq!(read[2].raw, r#"{"c1": {"n": [1]}}"#);
        assert_eq!(
            fields(read),
            vec![
                vec![Some("1".into()), Some("x".into())],
                vec![None, None],
                vec![None, Some(r#"{"n":[1]}"#.into())],
            ]
        );
        assert_eq!(
            json_records(&cols, text, true).unwrap()[1].fields[0],
            Some("2".into())
        );
        assert_eq!(json_records(&cols, "{}\n[1, 2]", false).unwrap_err().0, 2);
        assert_eq!(json_records(&cols, "{\"c0\": \n", false).unwrap_err().0, 2);
    }

    #[test]
    fn escape_removequotes_and_line_numbers_in_text() {
        let cols = columns(&[true, true]);
        let spec = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} escape ignoreheader 1"
        ));
        let read = records(&spec, &cols, "h|h\na\\|b|c\\\nd\n\\N|x\\\\\n").unwrap();
        assert_eq!(read.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(
            fields(read),
            vec![
                vec![Some("a|b".into()), Some("c\nd".into())],
                vec![None, Some("x\\".into())],
            ]
        );
        let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE} removequotes"));
        assert_eq!(
            fields(records(&spec, &cols, "\"a|b\"|\"\"\n").unwrap()),
            vec![vec![Some("a|b".into()), Some(String::new())]]
        );
    }

    #[test]
    fn acceptinvchars_replaces_each_invalid_byte() {
        let spec = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} acceptinvchars as '^'"
        ));
        assert_eq!(decode(&spec, b"a\xe2\x82|b\xff\n").unwrap(), "a^^|b^\n");
        let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE}"));
        let e = decode(&spec, b"ok\nb\xff\n").unwrap_err();
        assert_eq!((e.line, e.code), (2, 1220));
    }

    #[test]
    fn gzip_round_trips() {
        let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE} gzip"));
        assert_eq!(decode(&spec, &gzip(b"1|a\n")).unwrap(), "1|a\n");
        let e = decode(&spec, b"1|a\n").unwrap_err();
        assert!(
            e.reason.starts_with("not gzip data") && e.code == 1200,
            "{e:?}"
        );
    }
}
