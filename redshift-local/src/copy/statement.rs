//! Reading a `COPY ... FROM 's3://...'` or an `UNLOAD (...) TO 's3://...'`: the statement parsed with
//! `sqlparser`'s Redshift dialect and its options read into a [`CopySpec`] or an [`UnloadSpec`], refusing any
//! option redshift-local does not implement by name.
//!
//! sqlparser reads most of Redshift's options but not `MAXERROR` or `EXPLICIT_IDS` (nor a few that stay refused);
//! [`take_unparsed_options`] lifts those out of the text before sqlparser sees it.

use super::auth::check_authorization;
use super::datetime::Pattern;
use super::error::CopyError;
use super::spec::{Command, CopySpec, DateTimeFormat, Format, S3Url, UnloadSpec};
use sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopySource, CopyTarget, IamRoleKind, Statement,
};
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// Redshift `COPY` options that sqlparser cannot read and redshift-local does not implement: refused by name
/// rather than with sqlparser's syntax error (the COPY parameter reference,
/// <https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html>).
const REFUSED_UNPARSED: &[&str] = &[
    "acceptanydate",
    "avro",
    "comprows",
    "encoding",
    "fillrecord",
    "ignoreblanklines",
    "lzop",
    "noload",
    "orc",
    "readratio",
    "roundec",
    "shapefile",
    "ssh",
    "trimblanks",
];

/// Whether `sql` is a Redshift `COPY ... FROM '<location>'` or an `UNLOAD`, parsed. `None` leaves the statement
/// to PostgreSQL (anything else, and PostgreSQL's own `COPY ... FROM STDIN` / `TO STDOUT`).
pub(crate) fn recognise(sql: &str) -> Option<Result<Command, CopyError>> {
    let first = first_word(sql)?;
    let statement = match first.as_str() {
        "copy" => "COPY",
        "unload" => "UNLOAD",
        _ => return None,
    };
    let syntax = |detail: String| CopyError::Syntax { statement, detail };
    let (text, lifted) = match statement {
        "COPY" => match take_unparsed_options(sql) {
            Ok(taken) => taken,
            Err(e) => return Some(Err(e)),
        },
        _ => (sql.to_string(), Lifted::default()),
    };
    let parsed = match Parser::parse_sql(&RedshiftSqlDialect {}, &text) {
        Ok(parsed) => parsed,
        Err(e) => return Some(Err(syntax(e.to_string()))),
    };
    let [one] = parsed.as_slice() else {
        return Some(Err(CopyError::Unsupported(format!(
            "{statement} together with other statements in one SQL text"
        ))));
    };
    match one {
        Statement::Copy {
            source,
            to: false,
            target: CopyTarget::File { filename },
            options,
            legacy_options,
            ..
        } => Some(
            copy_spec(source, filename, options.is_empty(), legacy_options, lifted)
                .map(|spec| Command::Copy(Box::new(spec))),
        ),
        Statement::Unload {
            query,
            query_text,
            to,
            auth,
            with,
            options,
        } => {
            let text = query_text
                .clone()
                .or_else(|| query.as_ref().map(|q| q.to_string()));
            Some(
                unload_spec(text, &to.value, auth.as_ref(), with.is_empty(), options)
                    .map(Command::Unload),
            )
        }
        _ => None,
    }
}

/// The statements of a text that holds a `COPY` from S3 or an `UNLOAD` among others (`truncate t; copy t from
/// ...`), split at the semicolons between them, so that each runs on its own; `None` for a text of one
/// statement, or of several none of which is one.
pub(crate) fn split_around_s3(sql: &str) -> Option<Vec<String>> {
    let tokens = Tokenizer::new(&RedshiftSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let lines = line_offsets(sql);
    let mut pieces = Vec::new();
    let mut from = 0;
    for token in tokens.iter().filter(|t| t.token == Token::SemiColon) {
        let at = byte_at(sql, &lines, token);
        pieces.push(sql[from..at].to_string());
        from = at + 1;
    }
    pieces.push(sql[from..].to_string());
    pieces.retain(|p| first_word(p).is_some());
    (pieces.len() > 1 && pieces.iter().any(|p| recognise(p).is_some())).then_some(pieces)
}

/// The statement's first keyword, lowercased (comments and blanks skipped).
pub(crate) fn first_word(sql: &str) -> Option<String> {
    let tokens = Tokenizer::new(&RedshiftSqlDialect {}, sql)
        .tokenize()
        .ok()?;
    tokens.into_iter().find_map(|t| match t {
        Token::Whitespace(_) => None,
        Token::Word(w) => Some(Some(w.value.to_lowercase())),
        _ => Some(None),
    })?
}

/// The `COPY` options lifted out of the text before sqlparser reads it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Lifted {
    max_errors: Option<u64>,
    explicit_ids: bool,
    ignore_all_errors: bool,
}

/// Lifts `MAXERROR [AS] n`, `IGNOREALLERRORS` and `EXPLICIT_IDS` out of a `COPY`'s options (the words after its `FROM '...'`),
/// answering the text without them; refuses the options of [`REFUSED_UNPARSED`] by name.
pub(crate) fn take_unparsed_options(sql: &str) -> Result<(String, Lifted), CopyError> {
    let Ok(tokens) = Tokenizer::new(&RedshiftSqlDialect {}, sql).tokenize_with_location() else {
        // sqlparser's own error names what it could not read.
        return Ok((sql.to_string(), Lifted::default()));
    };
    let words: Vec<(usize, &TokenWithSpan)> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    // The options start after FROM and its quoted location.
    let Some(start) = words.windows(2).position(|w| {
        matches!(&w[0].1.token, Token::Word(word) if word.value.eq_ignore_ascii_case("from"))
            && matches!(w[1].1.token, Token::SingleQuotedString(_))
    }) else {
        return Ok((sql.to_string(), Lifted::default()));
    };
    let mut lifted = Lifted::default();
    let mut cut: Vec<(usize, usize)> = Vec::new();
    let mut i = start + 2;
    while i < words.len() {
        let (first, token) = words[i];
        let Token::Word(word) = &token.token else {
            i += 1;
            continue;
        };
        let name = word.value.to_ascii_lowercase();
        if word.quote_style.is_none() && REFUSED_UNPARSED.contains(&name.as_str()) {
            return Err(CopyError::Unsupported(format!(
                "COPY option {}",
                name.to_uppercase()
            )));
        }
        match name.as_str() {
            "explicit_ids" if word.quote_style.is_none() => {
                lifted.explicit_ids = true;
                cut.push((first, first));
                i += 1;
            }
            "ignoreallerrors" if word.quote_style.is_none() => {
                lifted.ignore_all_errors = true;
                cut.push((first, first));
                i += 1;
            }
            "maxerror" if word.quote_style.is_none() => {
                let mut j = i + 1;
                if matches!(words.get(j).map(|w| &w.1.token), Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("as"))
                {
                    j += 1;
                }
                let Some((last, Token::Number(n, _))) = words.get(j).map(|w| (w.0, &w.1.token))
                else {
                    return Err(CopyError::Syntax {
                        statement: "COPY",
                        detail: "MAXERROR needs a number of errors".into(),
                    });
                };
                let n: u64 = n.parse().map_err(|_| CopyError::Syntax {
                    statement: "COPY",
                    detail: format!("MAXERROR {n} is not a whole number"),
                })?;
                lifted.max_errors = Some(n);
                cut.push((first, last));
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    let offsets = line_offsets(sql);
    let mut text = String::new();
    let mut from = 0;
    for (first, last) in cut {
        text.push_str(&sql[from..byte_at(sql, &offsets, &tokens[first])]);
        from = byte_end(sql, &offsets, &tokens[last]);
    }
    text.push_str(&sql[from..]);
    Ok((text, lifted))
}

/// The byte offset where each line starts.
fn line_offsets(sql: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The byte offset of a token's first character (sqlparser counts lines and columns from 1, columns in chars).
fn byte_at(sql: &str, lines: &[usize], token: &TokenWithSpan) -> usize {
    let start = token.span.start;
    let line_start = lines[(start.line as usize).saturating_sub(1).min(lines.len() - 1)];
    sql[line_start..]
        .char_indices()
        .nth((start.column as usize).saturating_sub(1))
        .map_or(sql.len(), |(i, _)| line_start + i)
}

/// The byte offset just past a token.
fn byte_end(sql: &str, lines: &[usize], token: &TokenWithSpan) -> usize {
    let end = token.span.end;
    let line_start = lines[(end.line as usize).saturating_sub(1).min(lines.len() - 1)];
    sql[line_start..]
        .char_indices()
        .nth((end.column as usize).saturating_sub(1))
        .map_or(sql.len(), |(i, _)| line_start + i)
}

/// The parts of a `COPY` or `UNLOAD` option list that both statements share.
#[derive(Default)]
struct Common<'a> {
    roles: Vec<&'a IamRoleKind>,
    credentials: Vec<&'a str>,
    csv: Option<&'a [CopyLegacyCsvOption]>,
    json: Option<&'a Option<String>>,
    delimiter: Option<char>,
    gzip: bool,
    null_as: Option<String>,
    escape: bool,
    manifest: bool,
}

impl<'a> Common<'a> {
    /// Takes an option both statements share; `false` if it is not one of them.
    fn take(&mut self, option: &'a CopyLegacyOption) -> Result<bool, CopyError> {
        match option {
            CopyLegacyOption::IamRole(role) => self.roles.push(role),
            CopyLegacyOption::Credentials(c) => self.credentials.push(c),
            CopyLegacyOption::Csv(sub) => self.csv = Some(sub),
            CopyLegacyOption::Json(arg) => self.json = Some(arg),
            CopyLegacyOption::Delimiter(c) => self.delimiter = Some(*c),
            CopyLegacyOption::Gzip => self.gzip = true,
            CopyLegacyOption::Null(s) => self.null_as = Some(s.clone()),
            CopyLegacyOption::Escape => self.escape = true,
            CopyLegacyOption::Manifest { verbose: false } => self.manifest = true,
            // Locally there is one region; the option only tells Redshift where the bucket is.
            CopyLegacyOption::Region(_) => {}
            CopyLegacyOption::Parquet => {
                return Err(CopyError::Unsupported("FORMAT AS PARQUET".into()))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Builds a `COPY` from its parsed parts.
fn copy_spec(
    source: &CopySource,
    location: &str,
    no_with_options: bool,
    options: &[CopyLegacyOption],
    lifted: Lifted,
) -> Result<CopySpec, CopyError> {
    let CopySource::Table {
        table_name,
        columns,
    } = source
    else {
        return Err(CopyError::LoadSource);
    };
    if !no_with_options {
        return Err(CopyError::Unsupported(
            "COPY with PostgreSQL's parenthesized WITH options".into(),
        ));
    }
    let mut common = Common::default();
    let mut ignore_header = 0;
    let (mut empty_as_null, mut blanks_as_null) = (false, false);
    let (mut date_format, mut time_format) = (DateTimeFormat::Default, DateTimeFormat::Default);
    let mut accept_inv_chars = None;
    let (mut truncate_columns, mut remove_quotes) = (false, false);
    for option in options {
        if common.take(option)? {
            continue;
        }
        match option {
            CopyLegacyOption::IgnoreHeader(n) => ignore_header = *n,
            CopyLegacyOption::EmptyAsNull => empty_as_null = true,
            CopyLegacyOption::BlankAsNull => blanks_as_null = true,
            CopyLegacyOption::DateFormat(f) => date_format = datetime_format("DATEFORMAT", f)?,
            CopyLegacyOption::TimeFormat(f) => time_format = datetime_format("TIMEFORMAT", f)?,
            CopyLegacyOption::AcceptInvChars(c) => accept_inv_chars = Some(replacement_char(c)?),
            CopyLegacyOption::TruncateColumns => truncate_columns = true,
            CopyLegacyOption::RemoveQuotes => remove_quotes = true,
            // Statistics and compression encodings are Redshift's storage concerns; PostgreSQL has neither.
            CopyLegacyOption::StatUpdate(_) | CopyLegacyOption::CompUpdate { .. } => {}
            other => return Err(CopyError::Unsupported(format!("COPY option {other}"))),
        }
    }
    if matches!(
        date_format,
        DateTimeFormat::EpochSecs | DateTimeFormat::EpochMillis
    ) {
        return Err(CopyError::InvalidOption(
            "DATEFORMAT takes a format string or 'auto'; 'epochsecs' and 'epochmillisecs' are TIMEFORMAT's"
                .into(),
        ));
    }
    check_authorization(&common.roles, &common.credentials)?;
    let source = match S3Url::parse(location) {
        Some(url) => url,
        None if location.starts_with("dynamodb://") || location.starts_with("emr://") => {
            return Err(CopyError::Unsupported(format!(
                "COPY from {}",
                location.split("://").next().unwrap_or_default()
            )))
        }
        None => return Err(CopyError::LoadSource),
    };
    let format = copy_format(&common)?;
    if matches!(format, Format::Json { .. }) && (ignore_header > 0 || common.null_as.is_some()) {
        return Err(CopyError::Unsupported(
            "IGNOREHEADER or NULL AS with JSON".into(),
        ));
    }
    // "CSV can't be used with FIXEDWIDTH, REMOVEQUOTES, or ESCAPE" (COPY data format parameters,
    // https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html); neither applies to JSON.
    if !matches!(format, Format::Text { .. }) && (common.escape || remove_quotes) {
        return Err(CopyError::InvalidOption(
            "ESCAPE and REMOVEQUOTES apply to delimited text only, not to CSV or JSON".into(),
        ));
    }
    Ok(CopySpec {
        table: table_name.to_string(),
        columns: columns.iter().map(ToString::to_string).collect(),
        source,
        format,
        ignore_header,
        gzip: common.gzip,
        null_as: common.null_as.unwrap_or_else(|| "\\N".into()),
        empty_as_null,
        blanks_as_null,
        date_format,
        time_format,
        max_errors: max_errors(&lifted)?,
        accept_inv_chars,
        truncate_columns,
        escape: common.escape,
        remove_quotes,
        manifest: common.manifest,
        explicit_ids: lifted.explicit_ids,
    })
}

/// The rejected rows that fail a load. "If the load returns the error_count number of errors or greater, the load
/// fails ... Set this value to 0 or 1 if you want the load to fail as soon as the first error occurs ... The
/// MAXERROR default value is 0 and the limit is 100000"; "You can't specify the IGNOREALLERRORS option if you
/// specify the MAXERROR option" (Data load operations,
/// <https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-load.html>). A MAXERROR over the limit is
/// held to it.
fn max_errors(lifted: &Lifted) -> Result<u64, CopyError> {
    match (lifted.max_errors, lifted.ignore_all_errors) {
        (Some(_), true) => Err(CopyError::InvalidOption(
            "IGNOREALLERRORS cannot be used with MAXERROR".into(),
        )),
        (None, true) => Ok(u64::MAX),
        (n, false) => Ok(n.unwrap_or(0).clamp(1, 100_000)),
    }
}

/// `DATEFORMAT` / `TIMEFORMAT`: `'auto'` (the keyword is case-sensitive, as the data conversion parameters page
/// says), `'epochsecs'`, `'epochmillisecs'`, or a pattern checked now so that a bad one fails the statement.
fn datetime_format(option: &str, arg: &Option<String>) -> Result<DateTimeFormat, CopyError> {
    match arg.as_deref() {
        None | Some("auto") => Ok(DateTimeFormat::Auto),
        Some("epochsecs") => Ok(DateTimeFormat::EpochSecs),
        Some("epochmillisecs") => Ok(DateTimeFormat::EpochMillis),
        Some(pattern) => {
            Pattern::compile(pattern)
                .map_err(|e| CopyError::InvalidOption(format!("{option} '{pattern}': {e}")))?;
            Ok(DateTimeFormat::Pattern(pattern.to_string()))
        }
    }
}

/// `ACCEPTINVCHARS [AS 'c']`: "any ASCII character except NULL", '?' by default (data conversion parameters).
fn replacement_char(arg: &Option<String>) -> Result<char, CopyError> {
    let Some(text) = arg else { return Ok('?') };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() && c != '\0' => Ok(c),
        _ => Err(CopyError::InvalidOption(format!(
            "ACCEPTINVCHARS '{text}': the replacement must be one ASCII character other than NUL"
        ))),
    }
}

/// The data format a `COPY` names (pipe-delimited text when none).
fn copy_format(common: &Common) -> Result<Format, CopyError> {
    match (common.csv, common.json) {
        (Some(_), Some(_)) => Err(CopyError::Unsupported("CSV together with JSON".into())),
        (None, Some(arg)) => {
            if common.delimiter.is_some() {
                return Err(CopyError::Unsupported("DELIMITER with JSON".into()));
            }
            match arg.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("auto") => Ok(Format::Json { ignore_case: false }),
                Some("auto ignorecase") => Ok(Format::Json { ignore_case: true }),
                Some(other) => Err(CopyError::Unsupported(format!("JSON '{other}'"))),
                None => Err(CopyError::Unsupported(
                    "JSON without 'auto' or 'auto ignorecase'".into(),
                )),
            }
        }
        (Some(sub), None) => {
            let mut quote = '"';
            for option in sub {
                match option {
                    CopyLegacyCsvOption::Quote(c) => quote = *c,
                    other => return Err(CopyError::Unsupported(format!("COPY CSV {other}"))),
                }
            }
            Ok(Format::Csv {
                delimiter: common.delimiter.unwrap_or(','),
                quote,
            })
        }
        (None, None) => Ok(Format::Text {
            delimiter: common.delimiter.unwrap_or('|'),
        }),
    }
}

/// Builds an `UNLOAD` from its parsed parts.
fn unload_spec(
    query: Option<String>,
    to: &str,
    auth: Option<&IamRoleKind>,
    no_with_options: bool,
    options: &[CopyLegacyOption],
) -> Result<UnloadSpec, CopyError> {
    if !no_with_options {
        return Err(CopyError::Unsupported("UNLOAD with WITH options".into()));
    }
    let mut common = Common::default();
    common.roles.extend(auth);
    let mut header = false;
    let mut parallel = true;
    let mut allow_overwrite = false;
    let mut add_quotes = false;
    for option in options {
        if common.take(option)? {
            continue;
        }
        match option {
            CopyLegacyOption::Header => header = true,
            CopyLegacyOption::Parallel(on) => parallel = on.unwrap_or(true),
            CopyLegacyOption::AllowOverwrite => allow_overwrite = true,
            CopyLegacyOption::AddQuotes => add_quotes = true,
            // One slice writes far less than any allowed maximum (5 MB and up): one file either way.
            CopyLegacyOption::MaxFileSize(_) => {}
            other => return Err(CopyError::Unsupported(format!("UNLOAD option {other}"))),
        }
    }
    check_authorization(&common.roles, &common.credentials)?;
    let target = S3Url::parse(to).ok_or_else(|| {
        CopyError::Unsupported(format!("UNLOAD to a location that is not s3:// ('{to}')"))
    })?;
    let format = match (common.csv, common.json) {
        (_, Some(_)) => return Err(CopyError::Unsupported("UNLOAD FORMAT AS JSON".into())),
        (Some(sub), None) => {
            for option in sub {
                match option {
                    CopyLegacyCsvOption::Header => header = true,
                    other => return Err(CopyError::Unsupported(format!("UNLOAD CSV {other}"))),
                }
            }
            // "You can't use CSV with ... ADDQUOTES" / ESCAPE: CSV quotes fields itself (UNLOAD parameters,
            // https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html).
            if add_quotes || common.escape {
                return Err(CopyError::InvalidOption(
                    "UNLOAD CSV cannot be used with ADDQUOTES or ESCAPE".into(),
                ));
            }
            Format::Csv {
                delimiter: common.delimiter.unwrap_or(','),
                quote: '"',
            }
        }
        (None, None) => Format::Text {
            delimiter: common.delimiter.unwrap_or('|'),
        },
    };
    Ok(UnloadSpec {
        query: query.ok_or_else(|| CopyError::Unsupported("UNLOAD without a query".into()))?,
        target,
        format,
        header,
        gzip: common.gzip,
        parallel,
        allow_overwrite,
        null_as: common.null_as.unwrap_or_default(),
        add_quotes,
        escape: common.escape,
        manifest: common.manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::test_support::{copy_of, error_of, unload_of, ROLE};
    use crate::copy::unload::part_key;

    #[test]
    fn other_statements_are_left_to_postgres() {
        assert!(recognise("select 1").is_none());
        assert!(recognise("copy t from stdin").is_none());
        assert!(recognise("copy t to stdout").is_none());
        assert!(recognise("-- load\n  /* x */ insert into t values (1)").is_none());
    }

    #[test]
    fn default_format_is_pipe_delimited_text() {
        let spec = copy_of(&format!("copy sales from 's3://b/data/sales_' {ROLE}"));
        assert_eq!(spec.table, "sales");
        assert!(spec.columns.is_empty());
        assert_eq!(
            spec.source,
            S3Url {
                bucket: "b".into(),
                prefix: "data/sales_".into()
            }
        );
        assert_eq!(spec.format, Format::Text { delimiter: '|' });
        assert_eq!((spec.ignore_header, spec.gzip), (0, false));
        assert_eq!(spec.null_as, "\\N");
    }

    #[test]
    fn csv_delimiter_ignoreheader_gzip_region_and_columns() {
        let spec = copy_of(&format!(
            "COPY public.t (a, \"B\") FROM 's3://bucket/k' {ROLE} CSV DELIMITER AS ';' IGNOREHEADER AS 2 \
             GZIP REGION 'eu-west-1'"
        ));
        assert_eq!(spec.table, "public.t");
        assert_eq!(spec.columns, vec!["a".to_string(), "\"B\"".to_string()]);
        assert_eq!(
            spec.format,
            Format::Csv {
                delimiter: ';',
                quote: '"'
            }
        );
        assert_eq!((spec.ignore_header, spec.gzip), (2, true));
        let spec = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} format as csv quote as '''' delimiter '\\t' ignoreheader 1"
        ));
        assert_eq!(
            spec.format,
            Format::Csv {
                delimiter: '\t',
                quote: '\''
            }
        );
        assert_eq!(spec.ignore_header, 1);
    }

    #[test]
    fn json_auto_in_both_spellings() {
        for sql in [
            format!("copy t from 's3://b/k' {ROLE} json 'auto'"),
            format!("copy t from 's3://b/k' {ROLE} FORMAT AS JSON 'auto'"),
        ] {
            assert_eq!(copy_of(&sql).format, Format::Json { ignore_case: false });
        }
        let spec = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} format json 'auto ignorecase'"
        ));
        assert_eq!(spec.format, Format::Json { ignore_case: true });
        assert!(error_of(&format!(
            "copy t from 's3://b/k' {ROLE} json 's3://b/paths.json'"
        ))
        .contains("JSON 's3://b/paths.json' is not supported by redshift-local"));
    }

    #[test]
    fn null_as_emptyasnull_blanksasnull() {
        let spec = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} null as 'NULL' emptyasnull blanksasnull"
        ));
        assert_eq!(spec.null_as, "NULL");
        assert!(spec.empty_as_null && spec.blanks_as_null);
    }

    #[test]
    fn authorization_forms() {
        for auth in [
            "iam_role default",
            "IAM_ROLE 'arn:aws:iam::123456789012:role/a/path/Name-1'",
            "iam_role 'arn:aws:iam::123456789012:role/A,arn:aws:iam::210987654321:role/B'",
            "credentials 'aws_iam_role=arn:aws:iam::123456789012:role/Name'",
            "credentials 'aws_access_key_id=AKIA;aws_secret_access_key=s3cr3t'",
            "credentials 'aws_access_key_id=AKIA;aws_secret_access_key=s3cr3t;token=t'",
        ] {
            copy_of(&format!("copy t from 's3://b/k' {auth} csv"));
            unload_of(&format!("unload ('select 1') to 's3://b/p' {auth}"));
        }
    }

    #[test]
    fn malformed_authorization_fails_as_redshift() {
        let want =
            "ERROR: Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or \
                    'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'";
        for auth in [
            "iam_role 'Loader'",
            "iam_role 'arn:aws:iam::123:role/Loader'",
            "iam_role 'arn:aws:s3:::bucket'",
            "iam_role 'arn:aws:iam::123456789012:user/Loader'",
            "iam_role 'arn:aws:iam::123456789012:role/'",
            "credentials 'aws_iam_role=Loader'",
            "credentials 'aws_access_key_id=AKIA'",
            "",
            "iam_role default credentials 'aws_iam_role=arn:aws:iam::123456789012:role/N'",
        ] {
            assert_eq!(
                error_of(&format!("copy t from 's3://b/k' {auth} csv")),
                want,
                "{auth}"
            );
        }
        assert_eq!(
            error_of("unload ('select 1') to 's3://b/p' iam_role 'nope'"),
            want
        );
    }

    #[test]
    fn parquet_is_refused() {
        assert_eq!(
            error_of(&format!("copy t from 's3://b/k' {ROLE} format as parquet")),
            "ERROR: FORMAT AS PARQUET is not supported by redshift-local"
        );
        assert_eq!(
            error_of(&format!("unload ('select 1') to 's3://b/p' {ROLE} parquet")),
            "ERROR: FORMAT AS PARQUET is not supported by redshift-local"
        );
    }

    #[test]
    fn unsupported_options_are_named() {
        for (sql, want) in [
            (
                format!("copy t from 's3://b/k' {ROLE} manifest verbose"),
                "ERROR: COPY option MANIFEST VERBOSE is not supported by redshift-local",
            ),
            (
                format!("copy t from 's3://b/k' {ROLE} fixedwidth 'a:1'"),
                "ERROR: COPY option FIXEDWIDTH 'a:1' is not supported by redshift-local",
            ),
            (
                format!("copy t from 's3://b/k' {ROLE} fillrecord"),
                "ERROR: COPY option FILLRECORD is not supported by redshift-local",
            ),
            (
                format!("copy t from 's3://b/k' {ROLE} maxerror 3 noload"),
                "ERROR: COPY option NOLOAD is not supported by redshift-local",
            ),
            (
                format!("unload ('select 1') to 's3://b/p' {ROLE} manifest verbose"),
                "ERROR: UNLOAD option MANIFEST VERBOSE is not supported by redshift-local",
            ),
            (
                format!("unload ('select 1') to 's3://b/p' {ROLE} csv addquotes"),
                "ERROR: UNLOAD CSV cannot be used with ADDQUOTES or ESCAPE",
            ),
            (
                format!("copy t from 's3://b/k' {ROLE} csv escape"),
                "ERROR: ESCAPE and REMOVEQUOTES apply to delimited text only, not to CSV or JSON",
            ),
            (
                format!("copy t from 's3://b/k' {ROLE} dateformat 'epochsecs'"),
                "ERROR: DATEFORMAT takes a format string or 'auto'; 'epochsecs' and 'epochmillisecs' are \
                 TIMEFORMAT's",
            ),
            (
                format!("copy t from 's3://b/k' {ROLE} timeformat 'YYYY-MM-DD HH:MI:SS TZ'"),
                "ERROR: TIMEFORMAT 'YYYY-MM-DD HH:MI:SS TZ': a time zone part (TZ, OF) cannot be in the format \
                 string",
            ),
            (
                format!("copy t from 's3://b/k' {ROLE} acceptinvchars as 'ab'"),
                "ERROR: ACCEPTINVCHARS 'ab': the replacement must be one ASCII character other than NUL",
            ),
        ] {
            assert_eq!(error_of(&sql), want, "{sql}");
        }
        assert!(
            error_of(&format!("copy t from 's3://b/k' {ROLE} maxerror x"))
                .contains("MAXERROR needs a number")
        );
        assert!(
            error_of(&format!("copy t from 's3://b/k' {ROLE} csv; select 1"))
                .contains("together with other statements")
        );
    }

    #[test]
    fn copy_data_conversion_and_load_options() {
        let spec = copy_of(&format!(
            "copy t from 's3://b/manifest.json' {ROLE} manifest maxerror as 10 dateformat 'MM/DD/YYYY' \
             timeformat as 'epochmillisecs' acceptinvchars as '^' truncatecolumns escape removequotes \
             explicit_ids statupdate off compupdate on"
        ));
        assert!(spec.manifest && spec.truncate_columns && spec.escape && spec.remove_quotes);
        assert!(spec.explicit_ids);
        assert_eq!(spec.max_errors, 10);
        for (option, want) in [
            ("", 1),
            ("maxerror 0", 1),
            ("maxerror 1", 1),
            ("maxerror 250000", 100_000),
            ("ignoreallerrors", u64::MAX),
        ] {
            let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE} {option}"));
            assert_eq!(spec.max_errors, want, "{option}");
        }
        assert_eq!(
            error_of(&format!(
                "copy t from 's3://b/k' {ROLE} maxerror 5 ignoreallerrors"
            )),
            "ERROR: IGNOREALLERRORS cannot be used with MAXERROR"
        );
        assert_eq!(
            spec.date_format,
            DateTimeFormat::Pattern("MM/DD/YYYY".into())
        );
        assert_eq!(spec.time_format, DateTimeFormat::EpochMillis);
        assert_eq!(spec.accept_inv_chars, Some('^'));
        for (option, date, time) in [
            (
                "dateformat 'auto'",
                DateTimeFormat::Auto,
                DateTimeFormat::Default,
            ),
            (
                "timeformat 'auto'",
                DateTimeFormat::Default,
                DateTimeFormat::Auto,
            ),
            (
                "timeformat 'epochsecs'",
                DateTimeFormat::Default,
                DateTimeFormat::EpochSecs,
            ),
            (
                "timeformat 'YYYY-MM-DD HH:MI:SS'",
                DateTimeFormat::Default,
                DateTimeFormat::Pattern("YYYY-MM-DD HH:MI:SS".into()),
            ),
        ] {
            let spec = copy_of(&format!("copy t from 's3://b/k' {ROLE} {option}"));
            assert_eq!(
                (spec.date_format, spec.time_format),
                (date, time),
                "{option}"
            );
        }
        let spec = copy_of(&format!(
            "copy t from 's3://b/k' {ROLE} acceptinvchars maxerror 2"
        ));
        assert_eq!((spec.accept_inv_chars, spec.max_errors), (Some('?'), 2));
        // The words are options only after the location: columns named so stay columns.
        let spec = copy_of(&format!(
            "copy t (maxerror, explicit_ids) from 's3://b/k' {ROLE}"
        ));
        assert_eq!(spec.columns, ["maxerror", "explicit_ids"]);
        assert_eq!((spec.max_errors, spec.explicit_ids), (1, false));
    }

    #[test]
    fn unparsed_options_are_lifted_out_of_the_text() {
        let (text, lifted) =
            take_unparsed_options("copy t from 's3://b/k'\n  MAXERROR AS 5 csv explicit_ids gzip")
                .unwrap();
        assert_eq!(text, "copy t from 's3://b/k'\n   csv  gzip");
        assert_eq!(
            lifted,
            Lifted {
                max_errors: Some(5),
                explicit_ids: true,
                ignore_all_errors: false,
            }
        );
    }

    #[test]
    fn texts_with_a_copy_among_other_statements_are_split() {
        assert_eq!(
            split_around_s3(&format!(
                "truncate t; copy t from 's3://b/k' {ROLE} csv delimiter ';';\n-- done\n"
            )),
            Some(vec![
                "truncate t".to_string(),
                format!(" copy t from 's3://b/k' {ROLE} csv delimiter ';'"),
            ])
        );
        assert!(split_around_s3("select 1; select 2").is_none());
        assert!(split_around_s3(&format!("copy t from 's3://b/k' {ROLE};")).is_none());
        assert!(split_around_s3(
            "create function f() returns int as $$ select 1; $$ language sql; select 1"
        )
        .is_none());
    }

    #[test]
    fn sources_other_than_s3() {
        assert_eq!(
            error_of(&format!("copy t from '/tmp/x.csv' {ROLE}")),
            "ERROR: LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based load is allowed)"
        );
        assert_eq!(
            error_of(&format!("copy t from 'dynamodb://Tbl' {ROLE} readratio 50")),
            "ERROR: COPY option READRATIO is not supported by redshift-local"
        );
        assert_eq!(
            error_of(&format!("copy t from 'dynamodb://Tbl' {ROLE}")),
            "ERROR: COPY from dynamodb is not supported by redshift-local"
        );
        assert_eq!(
            error_of(&format!("copy t from 'emr://j-1/out' {ROLE}")),
            "ERROR: COPY from emr is not supported by redshift-local"
        );
    }

    #[test]
    fn unload_options() {
        let spec = unload_of(&format!(
            "UNLOAD ('select * from t where s = ''x''') TO 's3://b/out/t_' {ROLE}"
        ));
        assert_eq!(spec.query, "select * from t where s = 'x'");
        assert_eq!(
            spec.target,
            S3Url {
                bucket: "b".into(),
                prefix: "out/t_".into()
            }
        );
        assert_eq!(spec.format, Format::Text { delimiter: '|' });
        assert!(spec.parallel && !spec.header && !spec.gzip && !spec.allow_overwrite);
        assert!(!spec.add_quotes && !spec.escape && !spec.manifest);
        assert_eq!(part_key(&spec), "out/t_0000_part_00");
        let spec = unload_of(&format!(
            "unload ('select 1') to 's3://b/p/' {ROLE} csv delimiter as ';' header gzip parallel off allowoverwrite \
             null as 'NA' maxfilesize 100 mb"
        ));
        assert_eq!(
            spec.format,
            Format::Csv {
                delimiter: ';',
                quote: '"'
            }
        );
        assert!(spec.header && spec.gzip && !spec.parallel && spec.allow_overwrite);
        let text = unload_of(&format!(
            "unload ('select 1') to 's3://b/p/' {ROLE} addquotes escape manifest delimiter ','"
        ));
        assert!(text.add_quotes && text.escape && text.manifest);
        assert_eq!(text.format, Format::Text { delimiter: ',' });
        assert_eq!(spec.null_as, "NA");
        assert_eq!(part_key(&spec), "p/000.gz");
        assert!(
            unload_of(&format!(
                "unload ('select 1') to 's3://b/p' {ROLE} csv header"
            ))
            .header
        );
        assert!(
            unload_of(&format!(
                "unload ('select 1') to 's3://b/p' {ROLE} parallel on"
            ))
            .parallel
        );
        assert!(error_of(&format!(
            "unload ('select 1') to 's3://b/p' {ROLE} format json"
        ))
        .contains("UNLOAD FORMAT AS JSON is not supported"));
    }
}
