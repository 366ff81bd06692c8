//! A record's fields made ready for its columns before PostgreSQL reads them: the field count checked, dates and
//! timestamps read with `DATEFORMAT` / `TIMEFORMAT`, and strings held to their column's length in bytes (cut with
//! `TRUNCATECOLUMNS`). A field that fails is a rejected row with Redshift's load error code (Load error reference,
//! <https://docs.aws.amazon.com/redshift/latest/dg/r_Load_Error_Reference.html>).

use super::columns::{Column, Kind};
use super::datetime::{convert_date, convert_timestamp};
use super::spec::{CopySpec, DateTimeFormat};

/// Why a row was rejected, as `stl_load_errors` records it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rejection {
    /// Redshift's load error code (1202 extra columns, 1205 date format, ...).
    pub(super) code: i32,
    pub(super) reason: String,
    /// The column (an index into the loaded columns), when one field is at fault.
    pub(super) column: Option<usize>,
    /// The field's text before conversion.
    pub(super) value: Option<String>,
}

/// The record's fields converted for the columns, or why the row is rejected.
pub(super) fn convert_record(
    spec: &CopySpec,
    columns: &[Column],
    fields: Vec<Option<String>>,
) -> Result<Vec<Option<String>>, Rejection> {
    if fields.len() > columns.len() {
        return Err(Rejection {
            code: 1202,
            reason: "Extra column(s) found".into(),
            column: None,
            value: None,
        });
    }
    if fields.len() < columns.len() {
        return Err(Rejection {
            code: 1214,
            reason: "Delimiter not found".into(),
            column: Some(fields.len().saturating_sub(1)),
            value: None,
        });
    }
    fields
        .into_iter()
        .zip(columns)
        .enumerate()
        .map(|(i, (field, column))| match field {
            None => Ok(None),
            Some(value) => {
                convert_field(spec, column, &value)
                    .map(Some)
                    .map_err(|(code, reason)| Rejection {
                        code,
                        reason,
                        column: Some(i),
                        value: Some(value),
                    })
            }
        })
        .collect()
}

/// One field for its column.
fn convert_field(spec: &CopySpec, column: &Column, value: &str) -> Result<String, (i32, String)> {
    let pattern = |f: &DateTimeFormat| match f {
        DateTimeFormat::Pattern(p) => p.clone(),
        DateTimeFormat::EpochSecs => "epochsecs".into(),
        DateTimeFormat::EpochMillis => "epochmillisecs".into(),
        DateTimeFormat::Auto => "auto".into(),
        DateTimeFormat::Default => "YYYY-MM-DD HH:MI:SS".into(),
    };
    match column.kind {
        Kind::Date => convert_date(&spec.date_format, value).ok_or_else(|| {
            (
                1205,
                format!(
                    "Date value did not match format specified [{}]",
                    pattern(&spec.date_format)
                ),
            )
        }),
        Kind::Timestamp => convert_timestamp(&spec.time_format, value).ok_or_else(|| {
            (
                1206,
                format!(
                    "Invalid timestamp format or value [{}]",
                    pattern(&spec.time_format)
                ),
            )
        }),
        Kind::Text {
            max_bytes: Some(max),
        } if value.len() > max => {
            if spec.truncate_columns {
                Ok(truncate_bytes(value, max).to_string())
            } else {
                Err((1204, "String length exceeds DDL length".into()))
            }
        }
        _ => Ok(value.to_string()),
    }
}

/// The longest prefix of `value` of at most `max` bytes that ends on a character boundary ("TRUNCATECOLUMNS
/// truncates data in columns of the VARCHAR or CHAR data types so that it fits the column specification", whose
/// length Redshift counts in bytes).
fn truncate_bytes(value: &str, max: usize) -> &str {
    let mut end = max.min(value.len());
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::test_support::{copy_of, ROLE};

    fn column(kind: Kind) -> Column {
        Column {
            name: "\"c\"".into(),
            kind,
            type_name: "x".into(),
        }
    }

    #[test]
    fn fields_converted_or_rejected_with_redshifts_codes() {
        let plain = copy_of(&format!("copy t from 's3://b/k' {ROLE}"));
        let formats = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} dateformat 'MM/DD/YYYY' timeformat 'epochsecs' truncatecolumns"
        ));
        let varchar3 = column(Kind::Text { max_bytes: Some(3) });
        let date = column(Kind::Date);
        let ts = column(Kind::Timestamp);
        let int = column(Kind::Other);
        for (spec, col, value, want) in [
            (&plain, &varchar3, "abc", Ok("abc")),
            (&plain, &varchar3, "abcd", Err(1204)),
            (&plain, &varchar3, "éé", Err(1204)),
            (&formats, &varchar3, "abcd", Ok("abc")),
            (&formats, &varchar3, "aé€", Ok("aé")),
            (&plain, &date, "2003-03-31", Ok("2003-03-31")),
            (&formats, &date, "03/31/2003", Ok("2003-03-31")),
            (&formats, &date, "2003-03-31", Err(1205)),
            (&formats, &ts, "0", Ok("1970-01-01 00:00:00+00")),
            (&formats, &ts, "x", Err(1206)),
            (&plain, &int, "x", Ok("x")),
        ] {
            let got = convert_field(spec, col, value);
            assert_eq!(
                got.as_ref().map(String::as_str).map_err(|e| e.0),
                want,
                "{value}"
            );
        }
    }

    #[test]
    fn field_counts_are_checked() {
        let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE}"));
        let cols = [column(Kind::Other), column(Kind::Other)];
        let one = vec![Some("1".to_string())];
        let three = vec![Some("1".to_string()), None, None];
        assert_eq!(convert_record(&spec, &cols, one).unwrap_err().code, 1214);
        assert_eq!(convert_record(&spec, &cols, three).unwrap_err().code, 1202);
        assert_eq!(
            convert_record(&spec, &cols, vec![Some("1".into()), None]).unwrap(),
            vec![Some("1".to_string()), None]
        );
    }
}
