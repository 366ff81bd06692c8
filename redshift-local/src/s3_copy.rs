//! Redshift's `COPY table FROM 's3://...'` and `UNLOAD ('select ...') TO 's3://...'`, run against the local S3
//! (the moto server) and, for real, against PostgreSQL.
//!
//! PostgreSQL has a `COPY` of its own that reads server files and knows nothing of S3, and no `UNLOAD` at all, so
//! users' Redshift loads and unloads would fail with errors Redshift never gives. This module recognises both
//! statements with `sqlparser`'s Redshift dialect, reads or writes the objects with the real AWS SDK, and moves
//! the rows with PostgreSQL's own `COPY ... FROM STDIN` (so type errors, constraint violations and column-count
//! mismatches are PostgreSQL's real errors). Failures that Redshift itself reports (a prefix with no objects, a
//! non-empty unload destination, malformed credentials, a missing table) carry Redshift's own text. Options that
//! redshift-local does not implement fail the statement with a message naming them, never silently.
//!
//! The IAM role is checked for form only: there is no IAM locally, and the moto S3 accepts any signature.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use bytes::Bytes;
use futures::SinkExt;
use sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopySource, CopyTarget, IamRoleKind, Statement,
};
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::io::{Read, Write};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::SimpleQueryMessage;

/// Redshift's text for authorization it cannot read (documented under "Invalid credentials string").
const INVALID_CREDENTIALS: &str = "Invalid credentials. Must be of the format: credentials \
'aws_iam_role=...' or 'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'";

/// Why a `COPY` or `UNLOAD` failed; its `Display` is the statement's `Error` in `DescribeStatement`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CopyError {
    /// Authorization that is neither an IAM role ARN, `default`, nor a credentials string (Redshift's text).
    #[error("ERROR: {INVALID_CREDENTIALS}")]
    InvalidCredentials,
    /// A statement or option redshift-local cannot run: refused rather than half-done.
    #[error("ERROR: {0} is not supported by redshift-local")]
    Unsupported(String),
    /// The statement could not be read (sqlparser's message names the token).
    #[error("ERROR: syntax error in {statement}: {detail}")]
    Syntax {
        statement: &'static str,
        detail: String,
    },
    /// `COPY` from something that is not an object store (Redshift's text).
    #[error("ERROR: LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based load is allowed)")]
    LoadSource,
    /// No object has the key prefix (Redshift's text, naming the prefix without the bucket).
    #[error("ERROR: The specified S3 prefix '{0}' does not exist")]
    NoSuchPrefix(String),
    /// `UNLOAD` onto objects without `ALLOWOVERWRITE` (Redshift's text).
    #[error(
        "ERROR: Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, \
         manually removing the target files in S3, or using the ALLOWOVERWRITE option."
    )]
    DestinationNotEmpty,
    /// `COPY` into a table that does not exist (Redshift's text).
    #[error("ERROR: Cannot COPY into nonexistent table {0}")]
    NoSuchTable(String),
    /// S3 refused a request; formatted as Redshift reports S3 errors.
    #[error("ERROR: S3ServiceException:{message},Status {status},Error {code},Rid {request_id},CanRetry 1")]
    S3 {
        message: String,
        status: u16,
        code: String,
        request_id: String,
    },
    /// S3 could not be reached at all.
    #[error("ERROR: S3 request failed: {0}")]
    S3Unreachable(String),
    /// redshift-local was started without an S3 endpoint.
    #[error("ERROR: COPY and UNLOAD need an S3 endpoint: start redshift-local with --s3-endpoint")]
    NoEndpoint,
    /// A data file that cannot be read as the format says (Redshift points at `stl_load_errors`).
    #[error(
        "ERROR: Load into table '{table}' failed. Check 'stl_load_errors' system table for details. \
         (redshift-local: {detail})"
    )]
    Load { table: String, detail: String },
    /// PostgreSQL's own error for the rows or the query.
    #[error("ERROR: {}", postgres_text(.0))]
    Postgres(#[from] tokio_postgres::Error),
}

impl CopyError {
    /// Whether PostgreSQL stopped because the statement was cancelled (the engine reports it as `ABORTED`).
    pub(crate) fn cancelled(&self) -> bool {
        matches!(self, CopyError::Postgres(e) if e.code() == Some(&SqlState::QUERY_CANCELED))
    }
}

/// PostgreSQL's message, as the rest of redshift-local reports it.
fn postgres_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

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

/// Checks an `IAM_ROLE` value: `default`, or one or more role ARNs separated by commas (role chaining).
fn check_iam_role(role: &IamRoleKind) -> Result<(), CopyError> {
    match role {
        IamRoleKind::Default => Ok(()),
        IamRoleKind::Arn(arns) if arns.split(',').all(is_role_arn) => Ok(()),
        IamRoleKind::Arn(_) => Err(CopyError::InvalidCredentials),
    }
}

/// `arn:<partition>:iam::<12-digit account>:role/<path/name>`.
fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let Some((partition, rest)) = rest.split_once(":iam::") else {
        return false;
    };
    let Some((account, name)) = rest.split_once(":role/") else {
        return false;
    };
    matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
}

/// Checks a `CREDENTIALS` string: `aws_iam_role=<arn>` or access keys (with an optional token).
fn check_credentials(credentials: &str) -> Result<(), CopyError> {
    let pairs: Option<Vec<(&str, &str)>> = credentials
        .split(';')
        .map(|p| p.split_once('=').filter(|(_, v)| !v.is_empty()))
        .collect();
    let ok = match pairs.as_deref() {
        Some([("aws_iam_role", arn)]) => check_iam_role(&IamRoleKind::Arn(arn.to_string())).is_ok(),
        Some([("aws_access_key_id", _), ("aws_secret_access_key", _)])
        | Some([("aws_access_key_id", _), ("aws_secret_access_key", _), ("token", _)]) => true,
        _ => false,
    };
    ok.then_some(()).ok_or(CopyError::InvalidCredentials)
}

/// Checks that exactly one authorization was given and that it is well formed.
fn check_authorization(roles: &[&IamRoleKind], credentials: &[&str]) -> Result<(), CopyError> {
    match (roles, credentials) {
        ([role], []) => check_iam_role(role),
        ([], [credentials]) => check_credentials(credentials),
        _ => Err(CopyError::InvalidCredentials),
    }
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

/// Runs `sql` if it is a `COPY` from S3 or an `UNLOAD`; `None` leaves it to the caller. Answers the rows loaded
/// or unloaded.
pub(crate) async fn run_if_s3(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[(String, String)],
    options: &crate::Options,
) -> Option<Result<i64, CopyError>> {
    let command = match recognise(sql)? {
        Ok(command) => command,
        Err(e) => return Some(Err(e)),
    };
    if !params.is_empty() {
        return Some(Err(CopyError::Unsupported(
            "COPY or UNLOAD with parameters".into(),
        )));
    }
    let Some(endpoint) = options.s3_endpoint.as_deref() else {
        return Some(Err(CopyError::NoEndpoint));
    };
    let s3 = s3_client(endpoint, &options.region);
    Some(match command {
        Command::Copy(spec) => copy(client, &s3, &spec).await,
        Command::Unload(spec) => unload(client, &s3, &spec).await,
    })
}

/// An S3 client for the local endpoint: path-style addressing (moto serves every bucket on one host) and the
/// local stack's fixed credentials (`local_sdk_config`, shared with the EventBridge client).
fn s3_client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&crate::local_sdk_config(endpoint, region))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// An S3 failure as Redshift words it.
fn s3_error<E>(e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> CopyError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(service) => CopyError::S3 {
            message: service.err().message().unwrap_or_default().to_string(),
            status: service.raw().status().as_u16(),
            code: service.err().code().unwrap_or("Unknown").to_string(),
            request_id: e.request_id().unwrap_or_default().to_string(),
        },
        _ => CopyError::S3Unreachable(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()),
    }
}

/// Every key under the prefix, in S3's (lexicographic) order.
async fn list_keys(s3: &aws_sdk_s3::Client, url: &S3Url) -> Result<Vec<String>, CopyError> {
    let mut pages = s3
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(&url.prefix)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(s3_error)?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    Ok(keys)
}

/// The bytes of one object.
async fn get_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Bytes, CopyError> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(s3_error)?;
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| CopyError::S3Unreachable(e.to_string()))?;
    Ok(body.into_bytes())
}

/// A target column: its name (quoted for SQL) and whether it holds text (where an empty field is an empty string).
struct Column {
    name: String,
    is_text: bool,
}

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
async fn copy(
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

/// Redshift's load failure for a data file that is not what the statement says.
fn load_error(spec: &CopySpec, detail: String) -> CopyError {
    CopyError::Load {
        table: spec.table.clone(),
        detail,
    }
}

/// An object's text: gunzipped with `GZIP`, UTF-8 as Redshift requires.
fn decode(spec: &CopySpec, key: &str, raw: &[u8]) -> Result<String, CopyError> {
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
fn records(
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

/// The object key of the (single) part file, as Redshift names it for slice 0.
fn part_key(spec: &UnloadSpec) -> String {
    let name = if spec.parallel { "0000_part_00" } else { "000" };
    let gz = if spec.gzip { ".gz" } else { "" };
    format!("{}{name}{gz}", spec.target.prefix)
}

/// `UNLOAD`: the query (translated from Redshift SQL) run on PostgreSQL, its rows written as one part file.
async fn unload(
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
    s3.put_object()
        .bucket(&spec.target.bucket)
        .key(part_key(spec))
        .body(bytes.into())
        .send()
        .await
        .map_err(s3_error)?;
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

/// Appends one unloaded line: text fields as they are; CSV fields quoted when they hold the delimiter, a quote
/// or a line break (quotes doubled); NULL as the `NULL AS` string.
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
            (Some(text), _) => out.push_str(text),
        }
    }
    out.push('\n');
}

/// Gzip-compresses a part file.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "IAM_ROLE 'arn:aws:iam::123456789012:role/Loader'";

    fn copy_of(sql: &str) -> CopySpec {
        match recognise(sql) {
            Some(Ok(Command::Copy(spec))) => spec,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn unload_of(sql: &str) -> UnloadSpec {
        match recognise(sql) {
            Some(Ok(Command::Unload(spec))) => spec,
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn error_of(sql: &str) -> String {
        match recognise(sql) {
            Some(Err(e)) => e.to_string(),
            other => panic!("{sql}: expected an error, got {other:?}"),
        }
    }

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
    fn postgres_copy_text_escapes() {
        let mut out = String::new();
        push_postgres_text(
            &mut out,
            &[Some("a\tb\\c\nd".into()), None, Some(String::new())],
        );
        assert_eq!(out, "a\\tb\\\\c\\nd\t\\N\t\n");
    }

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
