//! What a `COPY ... FROM 's3://...'` or an `UNLOAD (...) TO 's3://...'` asks for, once read (`statement` reads
//! them): the location, the data format and every option redshift-local implements.

/// `s3://bucket/key-prefix`, split.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S3Url {
    pub(crate) bucket: String,
    pub(crate) prefix: String,
}

impl S3Url {
    /// `None` for anything that is not `s3://<bucket>[/<key>]`.
    pub(crate) fn parse(url: &str) -> Option<S3Url> {
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

/// How `DATEFORMAT` or `TIMEFORMAT` reads a date or timestamp field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DateTimeFormat {
    /// No option: the field goes to PostgreSQL as it is (Redshift's default `YYYY-MM-DD [HH:MI:SS]`, which
    /// PostgreSQL reads too).
    Default,
    /// `'auto'`: PostgreSQL's own date/time input, which reads every format Redshift's automatic recognition
    /// lists (ISO 8601, Julian `J2451187`, `BC`, `YYYYMMDD HHMISS`, `YYYY.DDD`, time zones, ...).
    Auto,
    /// `'epochsecs'` (TIMEFORMAT only): seconds since 1970-01-01 00:00:00 UTC.
    EpochSecs,
    /// `'epochmillisecs'` (TIMEFORMAT only): milliseconds since then.
    EpochMillis,
    /// An explicit pattern such as `'MM/DD/YYYY HH:MI:SS'`, kept as written.
    Pattern(String),
}

/// A parsed `COPY ... FROM 's3://...'`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CopySpec {
    /// The table as written (quoting kept), to be used in SQL as is.
    pub(crate) table: String,
    /// The column list as written, empty for all columns.
    pub(crate) columns: Vec<String>,
    /// The prefix, or with `MANIFEST` the manifest object.
    pub(crate) source: S3Url,
    pub(crate) format: Format,
    pub(crate) ignore_header: u64,
    pub(crate) gzip: bool,
    /// `NULL AS`: the field text that means NULL (Redshift's default `\N`).
    pub(crate) null_as: String,
    pub(crate) empty_as_null: bool,
    pub(crate) blanks_as_null: bool,
    /// `DATEFORMAT`, for DATE columns.
    pub(crate) date_format: DateTimeFormat,
    /// `TIMEFORMAT`, for TIMESTAMP and TIMESTAMPTZ columns.
    pub(crate) time_format: DateTimeFormat,
    /// The rejected rows (recorded in `stl_load_errors`) at which the load fails: `MAXERROR n` held to 1..=100000
    /// (1 by default: the first rejected row fails it), `u64::MAX` with `IGNOREALLERRORS`.
    pub(crate) max_errors: u64,
    /// `ACCEPTINVCHARS [AS 'c']`: the character that replaces each byte of invalid UTF-8.
    pub(crate) accept_inv_chars: Option<char>,
    pub(crate) truncate_columns: bool,
    /// `ESCAPE`: backslash escapes in the text format.
    pub(crate) escape: bool,
    /// `REMOVEQUOTES`: surrounding double quotes removed from text fields (delimiters inside kept).
    pub(crate) remove_quotes: bool,
    /// `MANIFEST`: the source is a JSON manifest listing the data files.
    pub(crate) manifest: bool,
    /// `EXPLICIT_IDS`: the data carries the identity columns' values.
    pub(crate) explicit_ids: bool,
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
    /// `ADDQUOTES`: every field in double quotes (text format).
    pub(crate) add_quotes: bool,
    /// `ESCAPE`: a backslash before the delimiter, backslash, line breaks and (with `ADDQUOTES`) quotes.
    pub(crate) escape: bool,
    /// `MANIFEST`: a `<prefix>manifest` object listing the part files.
    pub(crate) manifest: bool,
}

/// A recognised statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    Copy(Box<CopySpec>),
    Unload(UnloadSpec),
}
