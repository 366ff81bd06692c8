//! Reading a `COPY ... FROM 's3://...'` or an `UNLOAD (...) TO 's3://...'`: the statement parsed with
//! `sqlparser`'s Redshift dialect and its options read into a [`CopySpec`] or an [`UnloadSpec`], refusing any
//! option redshift-local does not implement by name.

use super::auth::check_authorization;
use super::error::CopyError;
use sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopySource, CopyTarget, IamRoleKind, Statement,
};
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

/// `s3://bucket/key-prefix`, split.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S3Url {
    pub(crate) bucket: String,
    pub(crate) prefix: String,
}

impl S3Url {
    fn parse(url: &str) -> Option<S3Url> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// How rows are laid out in a data file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Format {
    /// Redshift's default: delimited text, no quoting, `\N` for NULL.
    Text { delimiter: char },
    /// RFC 4180-style CSV.
    Csv { delimiter: char, quote: char },
    /// One JSON object per record, keys matched to column names (`'auto'`; `'auto ignorecase'`).
    Json { ignore_case: bool },
}

/// A parsed `COPY ... FROM 's3://...'`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CopySpec {
    /// The table as written (quoting kept), to be used in SQL as is.
    pub(crate) table: String,
    /// The column list as written, empty for all columns.
    pub(crate) columns: Vec<String>,
    pub(crate) source: S3Url,
    pub(crate) format: Format,
    pub(crate) ignore_header: u64,
    pub(crate) gzip: bool,
    /// `NULL AS`: the field text that means NULL (Redshift's default `\N`).
    pub(crate) null_as: String,
    pub(crate) empty_as_null: bool,
    pub(crate) blanks_as_null: bool,
}

/// A parsed `UNLOAD (...) TO 's3://...'`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnloadSpec {
    /// The query as Redshift SQL (quotes already unescaped).
    pub(crate) query: String,
    pub(crate) target: S3Url,
    /// Text or CSV (JSON unloads are refused).
    pub(crate) format: Format,
    pub(crate) header: bool,
    pub(crate) gzip: bool,
    pub(crate) parallel: bool,
    pub(crate) allow_overwrite: bool,
    /// `NULL AS`; Redshift writes NULL as an empty field by default.
    pub(crate) null_as: String,
}

/// A recognised statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    Copy(CopySpec),
    Unload(UnloadSpec),
}

/// Whether `sql` is a Redshift `COPY ... FROM '<location>'` or an `UNLOAD`, parsed. `None` leaves the statement
/// to PostgreSQL (anything else, and PostgreSQL's own `COPY ... FROM STDIN` / `TO STDOUT`).
pub(crate) fn recognise(sql: &str) -> Option<Result<Command, CopyError>> {
    let first = first_word(sql)?;
    let statement = match first.as_str() {
        "copy" => "COPY",
        "unload" => "UNLOAD",
        _ => return None,
    };
    let parsed = match Parser::parse_sql(&RedshiftSqlDialect {}, sql) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Some(Err(CopyError::Syntax {
                statement,
                detail: e.to_string(),
            }))
        }
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
        } => {
            Some(copy_spec(source, filename, options.is_empty(), legacy_options).map(Command::Copy))
        }
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

/// The statement's first keyword, lowercased (comments and blanks skipped).
fn first_word(sql: &str) -> Option<String> {
    let tokens = Tokenizer::new(&RedshiftSqlDialect {}, sql)
        .tokenize()
        .ok()?;
    tokens.into_iter().find_map(|t| match t {
        Token::Whitespace(_) => None,
        Token::Word(w) => Some(Some(w.value.to_lowercase())),
        _ => Some(None),
    })?
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
    for option in options {
        if common.take(option)? {
            continue;
        }
        match option {
            CopyLegacyOption::IgnoreHeader(n) => ignore_header = *n,
            CopyLegacyOption::EmptyAsNull => empty_as_null = true,
            CopyLegacyOption::BlankAsNull => blanks_as_null = true,
            other => return Err(CopyError::Unsupported(format!("COPY option {other}"))),
        }
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
    })
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
    for option in options {
        if common.take(option)? {
            continue;
        }
        match option {
            CopyLegacyOption::Header => header = true,
            CopyLegacyOption::Parallel(on) => parallel = on.unwrap_or(true),
            CopyLegacyOption::AllowOverwrite => allow_overwrite = true,
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
        assert_eq!(
            error_of(&format!("copy t from 's3://b/k' {ROLE} manifest")),
            "ERROR: COPY option MANIFEST is not supported by redshift-local"
        );
        assert_eq!(
            error_of(&format!(
                "unload ('select 1') to 's3://b/p' {ROLE} addquotes"
            )),
            "ERROR: UNLOAD option ADDQUOTES is not supported by redshift-local"
        );
        // An option sqlparser cannot read at all: its error names the token.
        let e = error_of(&format!("copy t from 's3://b/k' {ROLE} maxerror 10"));
        assert!(
            e.starts_with("ERROR: syntax error in COPY") && e.contains("maxerror"),
            "{e}"
        );
        assert!(
            error_of(&format!("copy t from 's3://b/k' {ROLE}; select 1"))
                .contains("together with other statements")
        );
    }

    #[test]
    fn sources_other_than_s3() {
        assert_eq!(
            error_of(&format!("copy t from '/tmp/x.csv' {ROLE}")),
            "ERROR: LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based load is allowed)"
        );
        assert!(
            error_of(&format!("copy t from 'dynamodb://Tbl' {ROLE} readratio 50"))
                .starts_with("ERROR: syntax error")
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
