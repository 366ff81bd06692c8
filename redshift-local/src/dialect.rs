//! Redshift SQL in, PostgreSQL SQL out.
//!
//! Users of the local Data API bring the SQL they run on Redshift (`getdate()`, `nvl`, `datediff(day, ...)`,
//! `DISTKEY`/`SORTKEY`, `select top 10`, ...), which PostgreSQL refuses. This module closes most of that gap in
//! three layers, cheapest first:
//!
//! 1. [`SETUP_SQL`] creates, once per database, the functions Redshift has and PostgreSQL lacks (`getdate`,
//!    `datediff`, `dateadd`, `months_between`, `add_months`, `strtol`, `charindex`, `len`, `convert_timezone`,
//!    `trunc(timestamp)`, `nvl`, `nvl2`). A function also works where no rewrite reaches: inside stored procedure
//!    bodies, in statements the parser cannot read, in `DEFAULT` expressions.
//! 2. A token-level pass (sqlparser's tokenizer, so string literals, quoted identifiers, dollar-quoted bodies and
//!    comments are never touched) removes or rewrites what `sqlparser` 0.64 refuses to parse or PostgreSQL does not
//!    know: table attributes (`DISTSTYLE`, `DISTKEY`, `[COMPOUND|INTERLEAVED] SORTKEY`, `ENCODE`, `BACKUP`),
//!    column `IDENTITY(seed, step)`, `APPROXIMATE COUNT`, `VARCHAR(MAX)`, `#temp` tables, Redshift-only
//!    `VACUUM`/`ANALYZE` forms, `ALTER TABLE ... ALTER DISTKEY/SORTKEY/ENCODE`, Redshift-only `SET` parameters,
//!    `NONATOMIC` procedures.
//! 3. The statement is parsed with `RedshiftSqlDialect` and the AST rewritten where a function cannot help
//!    (bare keywords, clashes with PostgreSQL built-ins, syntax): `sysdate`, `nvl` -> `coalesce`, `nvl2`,
//!    Redshift's `decode`, bare or abbreviated date parts, `listagg ... within group`, `top n`, `minus`.
//!
//! The statement is printed back only when the AST actually changed; otherwise the text goes out exactly as it
//! came in (or with only the token-level edits), so SQL that PostgreSQL already accepts (`pg_sleep`,
//! `generate_series`, `$1`, `::` casts, `:name` parameters, procedures) is never reformatted. Anything that cannot
//! be tokenized, or that panics a dependency, is returned unchanged: the translation never makes a statement worse
//! than PostgreSQL's own error for it. `COPY` and `UNLOAD` are left alone (they are handled elsewhere).
//!
//! Translate before binding `:name` parameters: the Redshift tokenizer reads backslash escapes in string literals
//! as Redshift does, so a statement that gets printed back carries PostgreSQL-standard literals.

use sqlparser::ast::{
    DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    LimitClause, ObjectName, ObjectNamePart, Query, SetExpr, SetOperator, TopQuantity, Value,
    VisitMut, VisitorMut, WindowType,
};
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use std::ops::ControlFlow;

/// Functions Redshift has and PostgreSQL lacks, created once per database (idempotent: `CREATE OR REPLACE`, all in
/// schema `public`).
///
/// Functions rather than rewrites wherever Redshift's name does not clash with a PostgreSQL built-in, because a
/// function keeps working where no rewrite reaches (procedure bodies, unparsable statements, defaults). Each date
/// function takes `timestamp` (a `date` converts implicitly), and an overload takes `timestamptz` and works on its
/// local time in the session's time zone, which matches Redshift as long as that is UTC, Redshift's default. The
/// date-part names and abbreviations of Redshift's "Date parts for date or timestamp functions" table are
/// normalized by `public.redshift_datepart(text)`; [`to_postgres`] normalizes the same names when it quotes a bare
/// date part. Bad input raises an error as Redshift does (unknown date part, `strtol` base outside 2..36).
///
/// - `getdate()`: the statement's start, without fractional seconds, as `timestamp` (Redshift: `TIMESTAMP`).
/// - `datediff(part, a, b)`: date-part boundaries crossed from `a` to `b` (`bigint`): `year` etc. by the
///   difference of the fields, `quarter`/`month` by `year*4+quarter` / `year*12+month`, `week` by Monday-based
///   weeks (as `date_trunc('week')`), `day`..`millisecond` by truncating both sides; `time` operands too.
/// - `dateadd(part, n, d)`: `d` plus `n` parts (`n` rounded to an integer); `timestamp` for `date`/`timestamp`,
///   `timestamptz` and `time` stay themselves. A month past the end of the shorter month clamps to its last day.
/// - `months_between(a, b)`: months from `b` to `a` as `float8`, the fraction on a 31-day month including the time
///   of day, whole when both are the same day of month or both the last day of their months.
/// - `add_months(d, n)`: like `dateadd(month, ...)` except that the last day of a month maps to the last day of
///   the result month (Redshift's documented difference), as `timestamp`.
/// - `trunc(timestamp)` -> `date` (PostgreSQL's numeric `trunc(x)`/`trunc(x, n)` are untouched overloads).
/// - `convert_timezone([source,] target, ts)`: local time in `target` of `ts` read in `source` (default UTC).
/// - `strtol(s, base)`: C `strtol` semantics as documented (leading blanks, sign, `0x` for base 16, stops at the
///   first invalid digit, empty -> 0), `bigint`, out of range is an error.
/// - `len(s)` = `length`, `charindex(sub, s)` = `strpos(s, sub)`.
/// - `nvl(a, b[, c])` and `nvl2(e, a, b)`, for the places the AST rewrite (to `coalesce`/`CASE`) does not reach
///   (polymorphic; `nvl2` has a `text` overload so that an untyped literal can be the tested value).
pub(crate) const SETUP_SQL: &str = r#"
CREATE OR REPLACE FUNCTION public.redshift_datepart(part text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE
    WHEN p IN ('millennium', 'millennia', 'mil', 'mils') THEN 'millennium'
    WHEN p IN ('century', 'centuries', 'c', 'cent', 'cents') THEN 'century'
    WHEN p IN ('decade', 'decades', 'dec', 'decs') THEN 'decade'
    WHEN p IN ('year', 'years', 'y', 'yr', 'yrs') THEN 'year'
    WHEN p IN ('quarter', 'quarters', 'qtr', 'qtrs') THEN 'quarter'
    WHEN p IN ('month', 'months', 'mon', 'mons') THEN 'month'
    WHEN p IN ('week', 'weeks', 'w') THEN 'week'
    WHEN p IN ('dayofweek', 'dow', 'dw', 'weekday') THEN 'dow'
    WHEN p IN ('dayofyear', 'doy', 'dy', 'yearday') THEN 'doy'
    WHEN p IN ('day', 'days', 'd') THEN 'day'
    WHEN p IN ('hour', 'hours', 'h', 'hr', 'hrs') THEN 'hour'
    WHEN p IN ('minute', 'minutes', 'm', 'min', 'mins') THEN 'minute'
    WHEN p IN ('second', 'seconds', 's', 'sec', 'secs') THEN 'second'
    WHEN p IN ('millisecond', 'milliseconds', 'ms', 'msec', 'msecs', 'msecond', 'mseconds',
               'millisec', 'millisecs', 'millisecon') THEN 'millisecond'
    WHEN p IN ('microsecond', 'microseconds', 'microsec', 'microsecs', 'usecond', 'useconds',
               'us', 'usec', 'usecs') THEN 'microsecond'
    ELSE p
END
FROM (SELECT lower(btrim(part)) AS p) AS normalized
$fn$;

CREATE OR REPLACE FUNCTION public.getdate() RETURNS timestamp
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
SELECT date_trunc('second', statement_timestamp())::timestamp
$fn$;

CREATE OR REPLACE FUNCTION public.datediff(part text, a timestamp, b timestamp) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    p text := public.redshift_datepart(part);
BEGIN
    CASE p
    WHEN 'millennium', 'century', 'decade', 'year' THEN
        RETURN (date_part(p, b) - date_part(p, a))::bigint;
    WHEN 'quarter' THEN
        RETURN ((date_part('year', b) * 4 + date_part('quarter', b))
              - (date_part('year', a) * 4 + date_part('quarter', a)))::bigint;
    WHEN 'month' THEN
        RETURN ((date_part('year', b) * 12 + date_part('month', b))
              - (date_part('year', a) * 12 + date_part('month', a)))::bigint;
    WHEN 'week' THEN
        RETURN (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7;
    WHEN 'day' THEN
        RETURN b::date - a::date;
    WHEN 'hour' THEN
        RETURN extract(epoch FROM date_trunc('hour', b) - date_trunc('hour', a))::bigint / 3600;
    WHEN 'minute' THEN
        RETURN extract(epoch FROM date_trunc('minute', b) - date_trunc('minute', a))::bigint / 60;
    WHEN 'second' THEN
        RETURN extract(epoch FROM date_trunc('second', b) - date_trunc('second', a))::bigint;
    WHEN 'millisecond' THEN
        RETURN (extract(epoch FROM date_trunc('milliseconds', b) - date_trunc('milliseconds', a)) * 1000)::bigint;
    WHEN 'microsecond' THEN
        RETURN (extract(epoch FROM b - a) * 1000000)::bigint;
    ELSE
        RAISE EXCEPTION 'datediff: date part "%" is not supported', part
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END
$fn$;

CREATE OR REPLACE FUNCTION public.datediff(part text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.datediff(part, a::timestamp, b::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.datediff(part text, a time, b time) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.datediff(part, date '2000-01-01' + a, date '2000-01-01' + b)
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d timestamp) RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    p text := public.redshift_datepart(part);
    k numeric := round(n::numeric);
BEGIN
    CASE p
    WHEN 'quarter' THEN
        RETURN d + make_interval(months => (k * 3)::integer);
    WHEN 'millennium', 'century', 'decade', 'year', 'month', 'week', 'day', 'hour', 'minute', 'second',
         'millisecond', 'microsecond' THEN
        RETURN d + k * ('1 ' || p)::interval;
    ELSE
        RAISE EXCEPTION 'dateadd: date part "%" is not supported', part
            USING ERRCODE = 'invalid_parameter_value';
    END CASE;
END
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d date) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.dateadd(part, n, d::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.dateadd(part, n, d::timestamp)::timestamptz
$fn$;

CREATE OR REPLACE FUNCTION public.dateadd(part text, n double precision, d time) RETURNS time
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.dateadd(part, n, date '2000-01-01' + d)::time
$fn$;

CREATE OR REPLACE FUNCTION public.months_between(date1 timestamp, date2 timestamp) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT ((date_part('year', date1) - date_part('year', date2)) * 12
        + date_part('month', date1) - date_part('month', date2))
    + CASE
        WHEN date_part('day', date1) = date_part('day', date2)
          OR (date1::date = (date_trunc('month', date1) + interval '1 month - 1 day')::date
              AND date2::date = (date_trunc('month', date2) + interval '1 month - 1 day')::date)
        THEN 0
        ELSE extract(epoch FROM (date1 - date_trunc('month', date1)) - (date2 - date_trunc('month', date2)))::double precision
             / 86400 / 31
      END
$fn$;

CREATE OR REPLACE FUNCTION public.months_between(date1 timestamptz, date2 timestamptz) RETURNS double precision
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.months_between(date1::timestamp, date2::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.add_months(d timestamp, n integer) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE
    WHEN d::date = (date_trunc('month', d) + interval '1 month - 1 day')::date
    THEN date_trunc('month', d) + make_interval(months => n + 1) - interval '1 day' + (d - date_trunc('day', d))
    ELSE d + make_interval(months => n)
END
$fn$;

CREATE OR REPLACE FUNCTION public.add_months(d timestamptz, n integer) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.add_months(d::timestamp, n)
$fn$;

CREATE OR REPLACE FUNCTION public.trunc(ts timestamp) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT ts::date
$fn$;

CREATE OR REPLACE FUNCTION public.trunc(ts timestamptz) RETURNS date
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT ts::date
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(target_tz text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT (ts AT TIME ZONE 'UTC') AT TIME ZONE target_tz
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(source_tz text, target_tz text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT (ts AT TIME ZONE source_tz) AT TIME ZONE target_tz
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(target_tz text, ts timestamptz) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.convert_timezone(target_tz, ts::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.convert_timezone(source_tz text, target_tz text, ts timestamptz) RETURNS timestamp
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $fn$
SELECT public.convert_timezone(source_tz, target_tz, ts::timestamp)
$fn$;

CREATE OR REPLACE FUNCTION public.len(s text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT length(s)
$fn$;

CREATE OR REPLACE FUNCTION public.charindex(search text, s text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT strpos(s, search)
$fn$;

CREATE OR REPLACE FUNCTION public.strtol(num_string text, base integer) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    s text := ltrim(num_string, E' \t\n\r\f' || chr(11));
    negative boolean := false;
    total numeric := 0;
    digit integer;
BEGIN
    IF base < 2 OR base > 36 THEN
        RAISE EXCEPTION 'strtol: base % is not between 2 and 36', base
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF left(s, 1) IN ('+', '-') THEN
        negative := left(s, 1) = '-';
        s := substr(s, 2);
    END IF;
    IF base = 16 AND lower(left(s, 2)) = '0x' THEN
        s := substr(s, 3);
    END IF;
    FOR i IN 1 .. length(s) LOOP
        digit := strpos('0123456789abcdefghijklmnopqrstuvwxyz', lower(substr(s, i, 1))) - 1;
        EXIT WHEN digit < 0 OR digit >= base;
        total := total * base + digit;
    END LOOP;
    RETURN (CASE WHEN negative THEN -total ELSE total END)::bigint;
END
$fn$;

CREATE OR REPLACE FUNCTION public.nvl(a anycompatible, b anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT coalesce(a, b)
$fn$;

CREATE OR REPLACE FUNCTION public.nvl(a anycompatible, b anycompatible, c anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT coalesce(a, b, c)
$fn$;

CREATE OR REPLACE FUNCTION public.nvl2(e anyelement, not_null anycompatible, if_null anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN e IS NOT NULL THEN not_null ELSE if_null END
$fn$;

CREATE OR REPLACE FUNCTION public.nvl2(e text, not_null anycompatible, if_null anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN e IS NOT NULL THEN not_null ELSE if_null END
$fn$;
"#;

/// A statement that does nothing and has no result set, for Redshift statements with no PostgreSQL meaning
/// (physical layout changes such as `ALTER TABLE ... ALTER DISTKEY`, Redshift-only session settings).
const NO_OP: &str = "DO $$BEGIN END$$";

/// What `ANALYZE COMPRESSION` becomes: Redshift's result columns with no rows (no encoding to recommend).
const ANALYZE_COMPRESSION: &str =
    "SELECT CAST(NULL AS VARCHAR) AS \"table\", CAST(NULL AS VARCHAR) AS \"column\", \
     CAST(NULL AS VARCHAR) AS encoding, CAST(NULL AS NUMERIC) AS est_reduction_pct WHERE false";

/// Redshift's date parts and their abbreviations (Redshift SQL reference, "Date parts for date or timestamp
/// functions"), each with the name PostgreSQL's `date_part`/`date_trunc`/intervals accept. `SETUP_SQL`'s
/// `redshift_datepart` holds the same table (a unit test checks it).
const DATE_PARTS: &[(&str, &[&str])] = &[
    ("millennium", &["millennium", "millennia", "mil", "mils"]),
    ("century", &["century", "centuries", "c", "cent", "cents"]),
    ("decade", &["decade", "decades", "dec", "decs"]),
    ("year", &["year", "years", "y", "yr", "yrs"]),
    ("quarter", &["quarter", "quarters", "qtr", "qtrs"]),
    ("month", &["month", "months", "mon", "mons"]),
    ("week", &["week", "weeks", "w"]),
    ("dow", &["dayofweek", "dow", "dw", "weekday"]),
    ("doy", &["dayofyear", "doy", "dy", "yearday"]),
    ("day", &["day", "days", "d"]),
    ("hour", &["hour", "hours", "h", "hr", "hrs"]),
    ("minute", &["minute", "minutes", "m", "min", "mins"]),
    ("second", &["second", "seconds", "s", "sec", "secs"]),
    (
        "millisecond",
        &[
            "millisecond",
            "milliseconds",
            "ms",
            "msec",
            "msecs",
            "msecond",
            "mseconds",
            "millisec",
            "millisecs",
            "millisecon",
        ],
    ),
    (
        "microsecond",
        &[
            "microsecond",
            "microseconds",
            "microsec",
            "microsecs",
            "usecond",
            "useconds",
            "us",
            "usec",
            "usecs",
        ],
    ),
    ("epoch", &["epoch"]),
];

/// Session parameters only Redshift has; `SET`/`RESET` of them becomes a no-op (PostgreSQL would refuse an
/// unknown parameter, and none of them changes query results here).
const REDSHIFT_ONLY_SETTINGS: &[&str] = &[
    "query_group",
    "wlm_query_slot_count",
    "enable_result_cache_for_session",
    "analyze_threshold_percent",
    "auto_analyze",
    "describe_field_name_in_uppercase",
    "enable_case_sensitive_identifier",
    "json_parse_truncate_strings",
    "mv_enable_aqmv_for_session",
    "use_fips_ssl",
];

/// Translates one Redshift SQL statement to PostgreSQL. Falls back to the text unchanged when it cannot parse it,
/// so nothing PostgreSQL accepts today breaks.
///
/// Several statements separated by `;` are translated one by one. A statement is printed back by `sqlparser` only
/// when its AST was rewritten; otherwise its text is kept byte for byte, apart from the token-level edits (see the
/// module documentation). Expects [`SETUP_SQL`] to have run on the database for the functions it leaves in place
/// (`getdate()`, `datediff`, `dateadd`, ...). Never panics.
pub(crate) fn to_postgres(sql: &str) -> String {
    std::panic::catch_unwind(|| translate(sql))
        .ok()
        .flatten()
        .unwrap_or_else(|| sql.to_string())
}

/// The translation, or `None` when nothing changes.
fn translate(sql: &str) -> Option<String> {
    let toks = tokenize(sql)?;
    let mut out = String::with_capacity(sql.len() + 32);
    let mut changed = false;
    for (i, chunk) in toks.split(|t| t.token == Token::SemiColon).enumerate() {
        if i > 0 {
            out.push(';');
        }
        match translate_statement(chunk) {
            Some(new) => {
                changed = true;
                out.push_str(&new);
            }
            None => chunk.iter().for_each(|t| out.push_str(t.text)),
        }
    }
    changed.then_some(out)
}

/// A token and its exact source text.
struct Tok<'a> {
    token: Token,
    text: &'a str,
}

/// Tokenizes with Redshift's rules, keeping each token's source text; `None` if the text cannot be tokenized.
fn tokenize(sql: &str) -> Option<Vec<Tok<'_>>> {
    let dialect = RedshiftSqlDialect {};
    let spanned = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .ok()?;
    let mut out = Vec::with_capacity(spanned.len());
    let (mut line, mut column, mut byte) = (1u64, 1u64, 0usize);
    for t in spanned {
        if (t.span.start.line, t.span.start.column) != (line, column) {
            return None;
        }
        let start = byte;
        let end = (t.span.end.line, t.span.end.column);
        while (line, column) < end {
            let ch = sql[byte..].chars().next()?;
            byte += ch.len_utf8();
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        if (line, column) != end {
            return None;
        }
        out.push(Tok {
            token: t.token,
            text: &sql[start..byte],
        });
    }
    (byte == sql.len()).then_some(out)
}

/// One statement's tokens and the positions of its significant (non-whitespace, non-comment) ones.
struct Stmt<'t, 'a> {
    toks: &'t [Tok<'a>],
    sig: Vec<usize>,
}

impl<'t, 'a> Stmt<'t, 'a> {
    fn new(toks: &'t [Tok<'a>]) -> Self {
        let sig = (0..toks.len())
            .filter(|&i| !matches!(toks[i].token, Token::Whitespace(_)))
            .collect();
        Stmt { toks, sig }
    }

    fn len(&self) -> usize {
        self.sig.len()
    }

    /// Token index of the `j`th significant token.
    fn idx(&self, j: usize) -> usize {
        self.sig[j]
    }

    fn tok(&self, j: usize) -> Option<&Token> {
        self.sig.get(j).map(|&i| &self.toks[i].token)
    }

    fn is(&self, j: usize, token: &Token) -> bool {
        self.tok(j) == Some(token)
    }

    /// The `j`th significant token, lowercased, if it is an unquoted word.
    fn word(&self, j: usize) -> Option<String> {
        match self.tok(j)? {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn word_is(&self, j: usize, word: &str) -> bool {
        self.word(j).as_deref() == Some(word)
    }

    /// The significant position of the `)` closing the `(` at `j`.
    fn paren_end(&self, j: usize) -> Option<usize> {
        let mut depth = 0usize;
        for k in j..self.len() {
            match self.tok(k)? {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(k);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Source text of significant tokens `from..=to`, with what lies between them.
    fn text(&self, from: usize, to: usize) -> String {
        self.toks[self.idx(from)..=self.idx(to)]
            .iter()
            .map(|t| t.text)
            .collect()
    }
}

/// Replacement texts for some tokens of a statement.
struct Edits {
    repl: Vec<Option<String>>,
    changed: bool,
}

impl Edits {
    fn new(len: usize) -> Self {
        Edits {
            repl: vec![None; len],
            changed: false,
        }
    }

    /// Replaces token `i` (a token index).
    fn set(&mut self, i: usize, text: impl Into<String>) {
        self.repl[i] = Some(text.into());
        self.changed = true;
    }

    /// Removes significant tokens `from..=to`, what lies between them and the blank just before them.
    fn remove(&mut self, s: &Stmt, from: usize, to: usize) {
        let (a, b) = (s.idx(from), s.idx(to));
        for i in a..=b {
            self.set(i, "");
        }
        if a > 0
            && self.repl[a - 1].is_none()
            && matches!(
                s.toks[a - 1].token,
                Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab)
            )
        {
            self.set(a - 1, "");
        }
    }

    fn render(&self, toks: &[Tok]) -> String {
        toks.iter()
            .zip(&self.repl)
            .map(|(t, r)| r.as_deref().unwrap_or(t.text))
            .collect()
    }
}

/// Translates one statement; `None` when it stays as it is.
fn translate_statement(toks: &[Tok]) -> Option<String> {
    let s = Stmt::new(toks);
    if s.len() == 0 {
        return None;
    }
    let first = s.word(0).unwrap_or_default();
    match first.as_str() {
        "copy" | "unload" => return None,
        "vacuum" => return vacuum(&s),
        "analyze" | "analyse" => return analyze(&s),
        "set" | "reset" => return redshift_only_setting(&s).then(|| NO_OP.to_string()),
        "alter" if alter_is_physical_only(&s) => return Some(NO_OP.to_string()),
        _ => {}
    }
    let mut ed = Edits::new(toks.len());
    common_rules(&s, &mut ed);
    if first == "create" && is_routine(&s) {
        routine_rules(&s, &mut ed);
        return token_output(&s, ed);
    }
    if first == "create" {
        create_table_rules(&s, 0, s.len(), &mut ed);
    }
    if first == "alter" {
        alter_add_column_rules(&s, &mut ed);
    }
    let text = ed.render(toks);
    match ast_rewrite(&text) {
        Ok(Some(printed)) => Some(with_outer_blanks(&text, &printed)),
        Ok(None) => token_output(&s, ed),
        Err(()) => {
            light_rules(&s, &mut ed);
            token_output(&s, ed)
        }
    }
}

/// The statement with its token edits (and Redshift's backslash escapes resolved), if anything changed.
fn token_output(s: &Stmt, mut ed: Edits) -> Option<String> {
    backslash_rules(s, &mut ed);
    ed.changed.then(|| ed.render(s.toks))
}

/// Redshift reads backslash escapes in string literals (`'a\\b'` is `a\b`, `'\n'` a newline), PostgreSQL does
/// not: literals with a backslash are written out as PostgreSQL reads them. Only for text that goes out token by
/// token; the parser already resolved them in a printed AST (so this never runs before parsing).
fn backslash_rules(s: &Stmt, ed: &mut Edits) {
    for j in 0..s.len() {
        if let Some(Token::SingleQuotedString(value)) = s.tok(j) {
            let i = s.idx(j);
            if ed.repl[i].is_none() && s.toks[i].text.contains('\\') && !value.contains('\0') {
                ed.set(i, format!("'{}'", value.replace('\'', "''")));
            }
        }
    }
}

/// `printed` with the leading and trailing blanks of `original` (the printer drops them).
fn with_outer_blanks(original: &str, printed: &str) -> String {
    let trimmed_start = original.trim_start();
    let lead = &original[..original.len() - trimmed_start.len()];
    let trail = &trimmed_start[trimmed_start.trim_end().len()..];
    format!("{lead}{printed}{trail}")
}

/// Token rules for every statement: `APPROXIMATE` aggregates, `VARCHAR(MAX)`, `NVARCHAR`, `#temp` tables.
fn common_rules(s: &Stmt, ed: &mut Edits) {
    let first = s.word(0).unwrap_or_default();
    for j in 0..s.len() {
        let prev_dot = j > 0 && s.is(j - 1, &Token::Period);
        if let Some(w) = s.word(j) {
            match w.as_str() {
                // Redshift's APPROXIMATE COUNT(DISTINCT ...) / APPROXIMATE PERCENTILE_DISC: the exact aggregate.
                "approximate"
                    if s.word_is(j + 1, "count") || s.word_is(j + 1, "percentile_disc") =>
                {
                    ed.remove(s, j, j);
                }
                "nvarchar" if !prev_dot => ed.set(s.idx(j), "varchar"),
                _ => {}
            }
            // VARCHAR(MAX) is VARCHAR(65535) and CHAR(MAX) is CHAR(4096) in Redshift.
            if s.is(j + 1, &Token::LParen) && s.word_is(j + 2, "max") && s.is(j + 3, &Token::RParen)
            {
                let max = match w.as_str() {
                    "varchar" | "nvarchar" | "varying" => Some("65535"),
                    "char" | "character" | "nchar" | "bpchar" => Some("4096"),
                    _ => None,
                };
                if let Some(max) = max {
                    ed.set(s.idx(j + 2), max);
                }
            }
        }
        // `#name` is a temporary table in Redshift; PostgreSQL needs the name quoted (and TEMP where it is made).
        if let Some(Token::Word(w)) = s.tok(j) {
            let mut chars = w.value.chars();
            if w.quote_style.is_none()
                && chars.next() == Some('#')
                && chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            {
                let quoted = format!("\"{}\"", w.value.to_lowercase().replace('"', "\"\""));
                let into_temp = first == "select" && j > 0 && s.word_is(j - 1, "into");
                ed.set(
                    s.idx(j),
                    if into_temp {
                        format!("TEMP {quoted}")
                    } else {
                        quoted
                    },
                );
            }
        }
    }
}

/// Rules for `CREATE [LOCAL] [TEMP] TABLE`, for the statement whose `CREATE` is at significant position `start`
/// and which ends before `end`: Redshift's table and column attributes go, `IDENTITY(seed, step)` becomes an
/// identity column.
fn create_table_rules(s: &Stmt, start: usize, end: usize, ed: &mut Edits) {
    let mut j = start + 1;
    let mut temp = false;
    while let Some(w) = s.word(j) {
        match w.as_str() {
            "local" => {}
            "temp" | "temporary" => temp = true,
            _ => break,
        }
        j += 1;
    }
    if !s.word_is(j, "table") {
        return;
    }
    let table_kw = j;
    j += 1;
    if s.word_is(j, "if") && s.word_is(j + 1, "not") && s.word_is(j + 2, "exists") {
        j += 3;
    }
    if let Some(Token::Word(w)) = s.tok(j) {
        if w.quote_style.is_none() && w.value.starts_with('#') && !temp {
            let table = s.toks[s.idx(table_kw)].text;
            ed.set(s.idx(table_kw), format!("TEMP {table}"));
        }
    }
    // Past the (possibly qualified) name: a table may well be called `sortkey`.
    j += 1;
    while s.is(j, &Token::Period) {
        j += 2;
    }
    let mut depth = 0usize;
    let mut column_start = false;
    while j < end {
        match s.tok(j) {
            Some(Token::LParen) => {
                depth += 1;
                column_start = depth == 1;
                j += 1;
                continue;
            }
            Some(Token::RParen) => {
                depth = depth.saturating_sub(1);
                j += 1;
                continue;
            }
            Some(Token::Comma) if depth == 1 => {
                column_start = true;
                j += 1;
                continue;
            }
            _ => {}
        }
        if depth == 1 && column_start {
            // The column's (or constraint's) first word: a column may well be called `sortkey`.
            column_start = false;
            j += 1;
            continue;
        }
        let w = s.word(j).unwrap_or_default();
        let next = s.word(j + 1).unwrap_or_default();
        let mut consumed = None;
        if depth == 0 {
            match w.as_str() {
                "as" => break,
                "diststyle" if !next.is_empty() => consumed = Some(j + 1),
                "distkey" if s.is(j + 1, &Token::LParen) => consumed = s.paren_end(j + 1),
                "compound" | "interleaved" if next == "sortkey" && s.is(j + 2, &Token::LParen) => {
                    consumed = s.paren_end(j + 2)
                }
                "sortkey" if s.is(j + 1, &Token::LParen) => consumed = s.paren_end(j + 1),
                "sortkey" | "encode" if next == "auto" => consumed = Some(j + 1),
                "backup" if next == "yes" || next == "no" => consumed = Some(j + 1),
                _ => {}
            }
        } else if depth == 1 {
            match w.as_str() {
                "encode" if !next.is_empty() => consumed = Some(j + 1),
                "distkey" | "sortkey" => consumed = Some(j),
                "collate" if next == "case_sensitive" || next == "case_insensitive" => {
                    consumed = Some(j + 1)
                }
                "identity" if s.is(j + 1, &Token::LParen) => {
                    if let Some((close, options)) = identity_options(s, j + 1) {
                        let generated = if j > 0 && s.word_is(j - 1, "as") {
                            ""
                        } else {
                            "GENERATED BY DEFAULT AS "
                        };
                        ed.remove(s, j + 1, close);
                        ed.set(s.idx(j), format!("{generated}IDENTITY ({options})"));
                        j = close + 1;
                        continue;
                    }
                }
                _ => {}
            }
        }
        match consumed {
            Some(last) => {
                ed.remove(s, j, last);
                j = last + 1;
            }
            None => j += 1,
        }
    }
}

/// For `(seed, step)` at `open`: its closing position and PostgreSQL's sequence options. A seed below the
/// default bound (Redshift's common `IDENTITY(0, 1)`) gets that bound lowered too.
fn identity_options(s: &Stmt, open: usize) -> Option<(usize, String)> {
    let close = s.paren_end(open)?;
    let mut numbers = Vec::new();
    let mut sign = "";
    for k in open + 1..close {
        match s.tok(k)? {
            Token::Minus if sign.is_empty() => sign = "-",
            Token::Plus if sign.is_empty() => sign = "+",
            Token::Number(n, false) => {
                numbers.push(format!("{sign}{n}").parse::<i64>().ok()?);
                sign = "";
            }
            Token::Comma if numbers.len() == 1 && sign.is_empty() => {}
            _ => return None,
        }
    }
    let [seed, step] = numbers[..] else {
        return None;
    };
    let mut options = format!("START WITH {seed} INCREMENT BY {step}");
    if step > 0 && seed < 1 {
        options.push_str(&format!(" MINVALUE {seed}"));
    } else if step < 0 && seed > -1 {
        options.push_str(&format!(" MAXVALUE {seed}"));
    }
    Some((close, options))
}

/// `ALTER TABLE t ALTER {DISTSTYLE|DISTKEY|[COMPOUND|INTERLEAVED] SORTKEY|ENCODE} ...` and
/// `ALTER TABLE t ALTER COLUMN c ENCODE e`: physical layout only, nothing to do in PostgreSQL.
fn alter_is_physical_only(s: &Stmt) -> bool {
    if !s.word_is(1, "table") {
        return false;
    }
    (2..s.len()).any(|j| {
        s.word_is(j, "alter")
            && (matches!(
                s.word(j + 1).as_deref(),
                Some("diststyle" | "distkey" | "sortkey" | "compound" | "interleaved" | "encode")
            ) || (s.word_is(j + 1, "column") && s.word_is(j + 3, "encode")))
    })
}

/// `ALTER TABLE t ADD [COLUMN] c type ENCODE e` (and column `DISTKEY`/`SORTKEY`): the attributes go.
fn alter_add_column_rules(s: &Stmt, ed: &mut Edits) {
    if !s.word_is(1, "table") {
        return;
    }
    let Some(add) = (2..s.len()).find(|&j| s.word_is(j, "add")) else {
        return;
    };
    let mut depth = 0usize;
    let mut j = add + 1;
    while j < s.len() {
        match s.tok(j) {
            Some(Token::LParen) => depth += 1,
            Some(Token::RParen) => depth = depth.saturating_sub(1),
            _ if depth == 0 && j > add + 2 => match s.word(j).as_deref() {
                Some("encode") if s.word(j + 1).is_some() => {
                    ed.remove(s, j, j + 1);
                    j += 1;
                }
                Some("distkey" | "sortkey") => ed.remove(s, j, j),
                _ => {}
            },
            _ => {}
        }
        j += 1;
    }
}

/// `CREATE [OR REPLACE] {PROCEDURE|FUNCTION}`.
fn is_routine(s: &Stmt) -> bool {
    let j = if s.word_is(1, "or") && s.word_is(2, "replace") {
        3
    } else {
        1
    };
    s.word_is(j, "procedure") || s.word_is(j, "function")
}

/// Procedures and functions are never printed back (their bodies are strings to the parser): `NONATOMIC`
/// (Redshift only; PostgreSQL procedures called outside a transaction may commit anyway) goes, and dollar-quoted
/// bodies get the token rules, so Redshift SQL inside them works too.
fn routine_rules(s: &Stmt, ed: &mut Edits) {
    for j in 0..s.len() {
        if s.word_is(j, "nonatomic") {
            ed.remove(s, j, j);
        }
        if let Some(Token::DollarQuotedString(d)) = s.tok(j) {
            let text = s.toks[s.idx(j)].text;
            let delimiter = d.tag.as_ref().map_or(2, |t| t.len() + 2);
            if text.len() < 2 * delimiter {
                continue;
            }
            let body = &text[delimiter..text.len() - delimiter];
            if let Some(new) = rewrite_body(body) {
                ed.set(
                    s.idx(j),
                    format!(
                        "{}{new}{}",
                        &text[..delimiter],
                        &text[text.len() - delimiter..]
                    ),
                );
            }
        }
    }
}

/// Token rules for a procedure or function body (PL/pgSQL or SQL, which the parser cannot read as a whole): the
/// common and light rules, and the table attributes of each `CREATE TABLE` in it.
fn rewrite_body(body: &str) -> Option<String> {
    let toks = tokenize(body)?;
    let s = Stmt::new(&toks);
    let mut ed = Edits::new(toks.len());
    common_rules(&s, &mut ed);
    light_rules(&s, &mut ed);
    backslash_rules(&s, &mut ed);
    for j in 0..s.len() {
        let starts_statement = j == 0
            || s.is(j - 1, &Token::SemiColon)
            || matches!(
                s.word(j - 1).as_deref(),
                Some("begin" | "then" | "else" | "loop" | "execute")
            );
        if starts_statement && s.word_is(j, "create") {
            let end = (j..s.len())
                .find(|&k| s.is(k, &Token::SemiColon))
                .unwrap_or(s.len());
            create_table_rules(&s, j, end, &mut ed);
        }
    }
    ed.changed.then(|| ed.render(&toks))
}

/// Token-level rewrites of what the AST pass would do, for text the parser cannot read: `sysdate`, `nvl`,
/// `pgdate_part`, and bare date parts of `datediff`/`dateadd`/`date_part`/`date_trunc`.
fn light_rules(s: &Stmt, ed: &mut Edits) {
    for j in 0..s.len() {
        let Some(w) = s.word(j) else { continue };
        let prev_dot = j > 0 && s.is(j - 1, &Token::Period);
        let call = s.is(j + 1, &Token::LParen) && !prev_dot;
        match w.as_str() {
            "sysdate" if !prev_dot && !s.is(j + 1, &Token::LParen) => {
                ed.set(s.idx(j), "LOCALTIMESTAMP")
            }
            "nvl" if call => ed.set(s.idx(j), "coalesce"),
            "datediff" | "dateadd" | "date_part" | "pgdate_part" | "date_trunc" if call => {
                if w == "pgdate_part" {
                    ed.set(s.idx(j), "date_part");
                }
                if let (Some(part), true) = (s.word(j + 2), s.is(j + 3, &Token::Comma)) {
                    let any_word = w == "datediff" || w == "dateadd";
                    let name = canonical_part(&part)
                        .map(str::to_string)
                        .or(any_word.then_some(part));
                    if let Some(name) = name {
                        ed.set(s.idx(j + 2), format!("'{name}'"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// PostgreSQL's name for one of Redshift's date parts or abbreviations.
fn canonical_part(name: &str) -> Option<&'static str> {
    let name = name.trim().to_ascii_lowercase();
    DATE_PARTS
        .iter()
        .find(|(_, aliases)| aliases.contains(&name.as_str()))
        .map(|(canonical, _)| *canonical)
}

/// Redshift's `VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [table] [TO n PERCENT] [BOOST]` as
/// PostgreSQL's plain `VACUUM [table]` (its closest: reclaims space, takes no exclusive lock, refuses to run in a
/// transaction block as Redshift's does). PostgreSQL's own forms are left alone.
fn vacuum(s: &Stmt) -> Option<String> {
    let mut j = 1;
    let mut redshift = false;
    match s.word(j).as_deref() {
        Some("full" | "reindex" | "recluster") => {
            j += 1;
            redshift = true;
        }
        Some("sort" | "delete") if s.word_is(j + 1, "only") => {
            j += 2;
            redshift = true;
        }
        _ => {}
    }
    let table_start = j;
    while matches!(s.tok(j), Some(Token::Word(_) | Token::Period))
        && !(s.word_is(j, "to") || s.word_is(j, "boost"))
    {
        j += 1;
    }
    let table = (j > table_start).then(|| s.text(table_start, j - 1));
    if s.word_is(j, "to")
        && matches!(s.tok(j + 1), Some(Token::Number(..)))
        && s.word_is(j + 2, "percent")
    {
        j += 3;
        redshift = true;
    }
    if s.word_is(j, "boost") {
        j += 1;
        redshift = true;
    }
    if j != s.len() || !redshift {
        return None;
    }
    Some(match table {
        Some(table) => format!("VACUUM {table}"),
        None => "VACUUM".to_string(),
    })
}

/// Redshift's `ANALYZE`: `ANALYZE COMPRESSION ...` gives Redshift's columns and no rows; `PREDICATE COLUMNS` /
/// `ALL COLUMNS` go (PostgreSQL analyzes the listed or all columns).
fn analyze(s: &Stmt) -> Option<String> {
    if s.word_is(1, "compression") {
        return Some(ANALYZE_COMPRESSION.to_string());
    }
    let n = s.len();
    if n >= 3
        && s.word_is(n - 1, "columns")
        && (s.word_is(n - 2, "predicate") || s.word_is(n - 2, "all"))
    {
        let mut ed = Edits::new(s.toks.len());
        ed.remove(s, n - 2, n - 1);
        return Some(ed.render(s.toks));
    }
    None
}

/// `SET [SESSION|LOCAL] p {TO|=} v` / `RESET p` of a Redshift-only parameter `p`.
fn redshift_only_setting(s: &Stmt) -> bool {
    let j = if s.word_is(1, "session") || s.word_is(1, "local") {
        2
    } else {
        1
    };
    s.word(j)
        .is_some_and(|p| REDSHIFT_ONLY_SETTINGS.contains(&p.as_str()))
}

/// Parses `text` with Redshift's grammar and rewrites the AST: `Ok(Some(printed))` when something changed,
/// `Ok(None)` when nothing did, `Err` when it does not parse.
fn ast_rewrite(text: &str) -> Result<Option<String>, ()> {
    let mut statements = Parser::parse_sql(&RedshiftSqlDialect {}, text).map_err(|_| ())?;
    let mut rewriter = Rewriter { changed: false };
    for statement in &mut statements {
        let _ = statement.visit(&mut rewriter);
    }
    Ok(rewriter.changed.then(|| {
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(";\n")
    }))
}

/// The AST pass; children are rewritten before their parents.
struct Rewriter {
    changed: bool,
}

impl VisitorMut for Rewriter {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(new) = rewrite_expr(expr) {
            *expr = new;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if top_to_limit(query) {
            self.changed = true;
        }
        if minus_to_except(&mut query.body) {
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}

/// `SELECT TOP n ...` -> `SELECT ... LIMIT n`.
fn top_to_limit(query: &mut Query) -> bool {
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    let Some(top) = &select.top else {
        return false;
    };
    if top.percent || top.with_ties {
        return false;
    }
    let limit = match &top.quantity {
        Some(TopQuantity::Constant(n)) => match parse_expr(&n.to_string()) {
            Some(e) => e,
            None => return false,
        },
        Some(TopQuantity::Expr(e)) => e.clone(),
        None => return false,
    };
    select.top = None;
    query.limit_clause = Some(LimitClause::LimitOffset {
        limit: Some(limit),
        offset: None,
        limit_by: vec![],
    });
    true
}

/// `MINUS` -> `EXCEPT` in this query's set operations (nested queries get their own visit).
fn minus_to_except(body: &mut SetExpr) -> bool {
    match body {
        SetExpr::SetOperation {
            op, left, right, ..
        } => {
            let mut changed = false;
            if *op == SetOperator::Minus {
                *op = SetOperator::Except;
                changed = true;
            }
            changed |= minus_to_except(left);
            changed |= minus_to_except(right);
            changed
        }
        _ => false,
    }
}

/// The rewrite of one expression whose children are already rewritten, if it needs one.
fn rewrite_expr(expr: &Expr) -> Option<Expr> {
    match expr {
        Expr::Identifier(id)
            if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("sysdate") =>
        {
            // Redshift's SYSDATE: the transaction's start in the session time zone, as TIMESTAMP.
            parse_expr("LOCALTIMESTAMP")
        }
        Expr::Function(f) => rewrite_function(f),
        _ => None,
    }
}

/// How a function argument is treated by [`date_call`].
#[derive(Clone, Copy, PartialEq)]
enum Arg {
    /// A date part: any bare word is quoted (Redshift's `datediff`/`dateadd` take nothing else there).
    AnyPart,
    /// A date part: only a known date-part word is quoted (it could be a column of `date_part`/`date_trunc`).
    KnownPart,
    /// A date/time operand: an untyped string literal gets the type Redshift would give it.
    Time,
    /// Left as it is.
    Keep,
}

fn rewrite_function(f: &Function) -> Option<Expr> {
    let [ObjectNamePart::Identifier(name)] = f.name.0.as_slice() else {
        return None;
    };
    if name.quote_style.is_some() {
        return None;
    }
    let name = name.value.to_ascii_lowercase();
    if name == "listagg" {
        return listagg(f);
    }
    let args = plain_args(f)?;
    use Arg::*;
    match (name.as_str(), args.len()) {
        ("nvl", n) if n >= 2 => {
            let mut g = f.clone();
            g.name = ObjectName::from(vec![Ident::new("coalesce")]);
            Some(Expr::Function(g))
        }
        ("nvl2", 3) => parse_expr(&format!(
            "CASE WHEN {} IS NOT NULL THEN {} ELSE {} END",
            paren(args[0]),
            args[1],
            args[2]
        )),
        ("decode", n) if n >= 3 => decode(&args),
        ("datediff", 3) => date_call(f, "datediff", &args, &[AnyPart, Time, Time]),
        ("dateadd", 3) => date_call(f, "dateadd", &args, &[AnyPart, Keep, Time]),
        ("date_part", 2) => date_call(f, "date_part", &args, &[KnownPart, Time]),
        ("pgdate_part", 2) => date_call(f, "date_part", &args, &[KnownPart, Time]),
        ("date_trunc", 2) => date_call(f, "date_trunc", &args, &[KnownPart, Time]),
        ("trunc", 1) => match string_literal(args[0]) {
            Some(s) if s.trim().parse::<f64>().is_err() => date_call(f, "trunc", &args, &[Time]),
            _ => None,
        },
        ("convert_timezone", 2) => date_call(f, "convert_timezone", &args, &[Keep, Time]),
        ("convert_timezone", 3) => date_call(f, "convert_timezone", &args, &[Keep, Keep, Time]),
        ("months_between", 2) => date_call(f, "months_between", &args, &[Time, Time]),
        ("add_months", 2) => date_call(f, "add_months", &args, &[Time, Keep]),
        _ => None,
    }
}

/// The arguments of a plain call `f(a, b, ...)`: no `DISTINCT`, no clauses, no named arguments, no window.
fn plain_args(f: &Function) -> Option<Vec<&Expr>> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if list.duplicate_treatment.is_some()
        || !list.clauses.is_empty()
        || f.over.is_some()
        || f.filter.is_some()
        || !f.within_group.is_empty()
    {
        return None;
    }
    list.args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// `f` called `name` with its arguments treated as `kinds` say; `None` if that changes nothing.
fn date_call(f: &Function, name: &str, args: &[&Expr], kinds: &[Arg]) -> Option<Expr> {
    let original = match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => id.value.to_ascii_lowercase(),
        _ => return None,
    };
    let mut changed = original != name;
    let mut new_args = Vec::with_capacity(args.len());
    for (arg, kind) in args.iter().zip(kinds) {
        let new = match kind {
            Arg::AnyPart | Arg::KnownPart => date_part_arg(arg, *kind == Arg::AnyPart),
            Arg::Time => typed_time_literal(arg),
            Arg::Keep => None,
        };
        changed |= new.is_some();
        new_args.push(new.unwrap_or_else(|| (*arg).clone()));
    }
    if !changed {
        return None;
    }
    let mut g = f.clone();
    g.name = ObjectName::from(vec![Ident::new(name)]);
    if let FunctionArguments::List(list) = &mut g.args {
        list.args = new_args
            .into_iter()
            .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
            .collect();
    }
    Some(Expr::Function(g))
}

/// A date part as the string PostgreSQL wants, if it is not one already. `datediff`/`dateadd` (`any_word`)
/// normalize quoted names themselves (`redshift_datepart`), so only their bare words need quoting; PostgreSQL's
/// `date_part`/`date_trunc` get Redshift's abbreviations spelled out.
fn date_part_arg(arg: &Expr, any_word: bool) -> Option<Expr> {
    let name = match arg {
        Expr::Identifier(id) if id.quote_style.is_none() => match canonical_part(&id.value) {
            Some(canonical) => canonical.to_string(),
            None if any_word => id.value.to_ascii_lowercase(),
            None => return None,
        },
        _ if any_word => return None,
        _ => {
            let literal = string_literal(arg)?;
            let canonical = canonical_part(literal)?;
            if canonical == literal {
                return None;
            }
            canonical.to_string()
        }
    };
    Some(Expr::value(Value::SingleQuotedString(name)))
}

/// An untyped string literal used as a date or time, cast to what Redshift reads it as (`TIME` for a bare time
/// of day, `TIMESTAMPTZ` with a zone, `TIMESTAMP` otherwise), so PostgreSQL picks the intended overload.
fn typed_time_literal(arg: &Expr) -> Option<Expr> {
    let literal = string_literal(arg)?;
    let t = literal.trim();
    let is_time = !t.is_empty()
        && t.contains(':')
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.');
    let has_zone = t.rfind(':').is_some_and(|last_colon| {
        let tail = t[last_colon..].to_ascii_lowercase();
        let tail = tail.trim_end_matches(" am").trim_end_matches(" pm");
        tail.contains(['+', '-']) || tail.chars().any(|c| c.is_ascii_alphabetic())
    });
    let ty = if is_time {
        "TIME"
    } else if has_zone {
        "TIMESTAMPTZ"
    } else {
        "TIMESTAMP"
    };
    parse_expr(&format!("CAST({arg} AS {ty})"))
}

/// Redshift's `DECODE(expr, search, result [, search, result]... [, default])` as `CASE`. A NULL search matches a
/// NULL expression, as Redshift documents; with literal searches only, the simple `CASE expr WHEN ...` form.
fn decode(args: &[&Expr]) -> Option<Expr> {
    let (subject, rest) = args.split_first()?;
    let is_null = |e: &Expr| matches!(e, Expr::Value(v) if v.value == Value::Null);
    let literal_searches = rest
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .all(|pair| matches!(pair[0], Expr::Value(_)) && !is_null(pair[0]));
    let subject = paren(subject);
    let mut sql = String::from("CASE");
    if literal_searches {
        sql.push_str(&format!(" {subject}"));
    }
    for pair in rest.chunks(2) {
        match pair {
            [search, result] if literal_searches => {
                sql.push_str(&format!(" WHEN {search} THEN {result}"))
            }
            [search, result] if is_null(search) => {
                sql.push_str(&format!(" WHEN {subject} IS NULL THEN {result}"))
            }
            [search, result] => sql.push_str(&format!(
                " WHEN {subject} IS NOT DISTINCT FROM {} THEN {result}",
                paren(search)
            )),
            [default] => sql.push_str(&format!(" ELSE {default}")),
            _ => return None,
        }
    }
    sql.push_str(" END");
    parse_expr(&sql)
}

/// `LISTAGG([DISTINCT] expr [, delimiter]) [WITHIN GROUP (ORDER BY ...)] [OVER (...)]` as `string_agg`. The value
/// is cast to text (Redshift aggregates any type into VARCHAR); with `DISTINCT`, PostgreSQL wants the `ORDER BY`
/// expressions among the arguments, so they are cast alike when they are the value itself. As a window function
/// (Redshift allows only `PARTITION BY` there) the order moves into the window, over the whole partition, since
/// PostgreSQL has no `ORDER BY` inside a window aggregate's arguments.
fn listagg(f: &Function) -> Option<Expr> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if !list.clauses.is_empty() {
        return None;
    }
    let args: Vec<&Expr> = list
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (value, delimiter) = match args.as_slice() {
        [value] => (*value, "''".to_string()),
        [value, delimiter] => (*value, delimiter.to_string()),
        _ => return None,
    };
    let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
    let value_text = value.to_string();
    let cast = !distinct
        || f.within_group
            .iter()
            .all(|o| o.expr.to_string() == value_text);
    let cast_text = |e: &Expr| format!("CAST({e} AS TEXT)");
    let order: Vec<String> = f
        .within_group
        .iter()
        .map(|o| {
            let mut o = o.clone();
            if distinct && cast {
                o.expr = parse_expr(&cast_text(&o.expr)).unwrap_or(o.expr);
            }
            o.to_string()
        })
        .collect();
    let order = if order.is_empty() {
        String::new()
    } else {
        format!("ORDER BY {}", order.join(", "))
    };
    let (in_call, window) = match &f.over {
        None => (order, None),
        Some(WindowType::WindowSpec(spec))
            if !order.is_empty()
                && spec.window_name.is_none()
                && spec.order_by.is_empty()
                && spec.window_frame.is_none() =>
        {
            let partition = if spec.partition_by.is_empty() {
                String::new()
            } else {
                let exprs: Vec<String> =
                    spec.partition_by.iter().map(ToString::to_string).collect();
                format!("PARTITION BY {} ", exprs.join(", "))
            };
            let window = format!(
                " OVER ({partition}{order} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
            );
            (String::new(), Some(window))
        }
        Some(_) => (order, None),
    };
    let sql = format!(
        "string_agg({}{}, {delimiter}{}{}){}",
        if distinct { "DISTINCT " } else { "" },
        if cast { cast_text(value) } else { value_text },
        if in_call.is_empty() { "" } else { " " },
        in_call,
        window.as_deref().unwrap_or_default()
    );
    let mut new = parse_expr(&sql)?;
    if let Expr::Function(g) = &mut new {
        if window.is_none() {
            g.over = f.over.clone();
        }
        g.filter = f.filter.clone();
    }
    Some(new)
}

/// `e` printed, in parentheses unless it is atomic (so splicing it into new SQL keeps its precedence).
fn paren(e: &Expr) -> String {
    match e {
        Expr::Identifier(_)
        | Expr::CompoundIdentifier(_)
        | Expr::Value(_)
        | Expr::Function(_)
        | Expr::Nested(_)
        | Expr::Cast { .. } => e.to_string(),
        _ => format!("({e})"),
    }
}

fn parse_expr(sql: &str) -> Option<Expr> {
    Parser::new(&RedshiftSqlDialect {})
        .try_with_sql(sql)
        .ok()?
        .parse_expr()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts the translation of `redshift`.
    #[track_caller]
    fn check(redshift: &str, postgres: &str) {
        assert_eq!(to_postgres(redshift), postgres, "translating {redshift:?}");
    }

    /// Asserts that `sql` goes out byte for byte.
    #[track_caller]
    fn unchanged(sql: &str) {
        assert_eq!(to_postgres(sql), sql);
    }

    #[test]
    fn postgres_sql_passes_through_byte_for_byte() {
        for sql in [
            "",
            "   ",
            ";",
            "-- just a comment",
            "select 1",
            "select pg_sleep(60)",
            "select pg_sleep(0.5)",
            "select generate_series(1, 5) as n",
            "select i, repeat('r', 1000) as pad from generate_series(1, 1000) as i",
            "insert into hits select 1 from pg_sleep(2)",
            "insert into etl.sales select date '2026-11-01' + g % 7, g * 1.25 from generate_series(1, 1000) g",
            "create procedure etl.load_day() language sql as $$ create table if not exists etl.daily as select day, \
             sum(amount) total from etl.sales group by day $$",
            "call etl.load_day()",
            "select count(*) from seed_runs where tag = $1",
            "select $1::text, $2::int",
            "select :id::int, ':id', 'it''s :id'",
            "insert into items(id, name) values (:id, :name)",
            "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'",
            "select day::text as day, total from etl.daily order by day",
            "create table t(i int, b bigint, n numeric(10,2), d double precision, ok boolean, s text, day date, at timestamp)",
            "create temp table t (i int)",
            "create table sales(id int, amount numeric(10,2)); insert into sales values (1, 10.50), (2, 3.25)",
            "select getdate()",
            "SELECT GETDATE() AS now",
            "select len(name), charindex('a', name), strtol('ff', 16) from t",
            "select datediff('day', a, b), dateadd('month', 1, d), date_trunc('day', ts), date_part('year', ts) from t",
            "select decode('aGk=', 'base64')",
            "select trunc(1.57, 1), trunc(x) from t",
            "select coalesce(a, b) from t",
            "select E'a\\tb'",
            "select x from t where y ~ '^a' and j #>> '{a}' = '1'",
            "vacuum",
            "vacuum t",
            "vacuum (verbose, analyze) t",
            "analyze t",
            "analyze verbose t (a, b)",
            "set search_path to public",
            "begin",
            "commit",
            "drop table if exists t",
            "select 'unterminated",
            "select (",
            "select \u{e9}t\u{e9} from caf\u{e9}",
        ] {
            unchanged(sql);
        }
    }

    #[test]
    fn copy_and_unload_are_left_alone() {
        unchanged(
            "copy t from 's3://bucket/key' iam_role 'arn:aws:iam::1:role/r' csv ignoreheader 1",
        );
        unchanged("COPY t FROM 's3://b/k' IAM_ROLE default FORMAT AS PARQUET");
        unchanged(
            "unload ('select nvl(a, b) from t') to 's3://b/p' iam_role 'arn:aws:iam::1:role/r' csv",
        );
    }

    #[test]
    fn getdate_is_a_function_and_sysdate_is_the_transaction_start() {
        unchanged("select getdate()");
        check("select sysdate", "SELECT LOCALTIMESTAMP");
        check(
            "select trunc(sysdate) - 120",
            "SELECT trunc(LOCALTIMESTAMP) - 120",
        );
        check(
            r#"select "sysdate" from t where x < sysdate"#,
            r#"SELECT "sysdate" FROM t WHERE x < LOCALTIMESTAMP"#,
        );
    }

    #[test]
    fn nvl_and_nvl2() {
        check("select nvl(a, b) from t", "SELECT coalesce(a, b) FROM t");
        check(
            "select NVL(a, b, 0) from t",
            "SELECT coalesce(a, b, 0) FROM t",
        );
        check(
            "select nvl2(a, 'set', 'unset') from t",
            "SELECT CASE WHEN a IS NOT NULL THEN 'set' ELSE 'unset' END FROM t",
        );
        check(
            "select nvl2(a + 1, b, c) from t",
            "SELECT CASE WHEN (a + 1) IS NOT NULL THEN b ELSE c END FROM t",
        );
    }

    #[test]
    fn redshift_decode_becomes_case_and_postgres_decode_stays() {
        check(
            "select decode(catname, 'NHL', 'Hockey', 'MLB', 'Baseball', 'Unknown') from category",
            "SELECT CASE catname WHEN 'NHL' THEN 'Hockey' WHEN 'MLB' THEN 'Baseball' ELSE 'Unknown' END FROM category",
        );
        check(
            "select decode(caldate, '2008-06-01', 'June 1st') from d",
            "SELECT CASE caldate WHEN '2008-06-01' THEN 'June 1st' END FROM d",
        );
        // A NULL search matches a NULL expression in Redshift.
        check(
            "select decode(x, null, 'none', y, 'same', 'other') from t",
            "SELECT CASE WHEN x IS NULL THEN 'none' WHEN x IS NOT DISTINCT FROM y THEN 'same' ELSE 'other' END FROM t",
        );
        unchanged("select decode(payload, 'base64') from t");
    }

    #[test]
    fn len_charindex_strtol_months_between_add_months_are_functions() {
        unchanged("select len(s), charindex('dog', s), strtol(s, 16), months_between(a, b), add_months(d, 1) from t");
        check(
            "select months_between('1969-01-18', '1969-03-18'), add_months('2008-02-29', 1)",
            "SELECT months_between(CAST('1969-01-18' AS TIMESTAMP), CAST('1969-03-18' AS TIMESTAMP)), \
             add_months(CAST('2008-02-29' AS TIMESTAMP), 1)",
        );
    }

    #[test]
    fn date_parts_are_quoted_and_normalized() {
        check(
            "select datediff(day, start_at, end_at) from t",
            "SELECT datediff('day', start_at, end_at) FROM t",
        );
        check(
            "select datediff(hours, a, b), datediff(yr, a, b), datediff(w, a, b), datediff(qtr, a, b) from t",
            "SELECT datediff('hour', a, b), datediff('year', a, b), datediff('week', a, b), \
             datediff('quarter', a, b) FROM t",
        );
        check(
            "select datediff(day, '2026-01-01 23:00', '2026-01-02 01:00')",
            "SELECT datediff('day', CAST('2026-01-01 23:00' AS TIMESTAMP), CAST('2026-01-02 01:00' AS TIMESTAMP))",
        );
        check(
            "select datediff(hour, '08:30:00', '10:00:00')",
            "SELECT datediff('hour', CAST('08:30:00' AS TIME), CAST('10:00:00' AS TIME))",
        );
        check(
            "select datediff(days, 'Jun 1,2008 09:59:59 EST', 'Jul 4,2008 09:59:59 EST')",
            "SELECT datediff('day', CAST('Jun 1,2008 09:59:59 EST' AS TIMESTAMPTZ), \
             CAST('Jul 4,2008 09:59:59 EST' AS TIMESTAMPTZ))",
        );
        check(
            "select dateadd(month, 1, '2008-01-31'), dateadd(d, -1, current_date)",
            "SELECT dateadd('month', 1, CAST('2008-01-31' AS TIMESTAMP)), dateadd('day', -1, current_date)",
        );
        // Quoted parts of datediff/dateadd are normalized by the functions themselves.
        unchanged("select dateadd('mins', 5, ts) from t");
        check(
            "select date_part(dow, ts), date_part(yr, '2026-11-28'), pgdate_part(w, ts) from t",
            "SELECT date_part('dow', ts), date_part('year', CAST('2026-11-28' AS TIMESTAMP)), date_part('week', ts) FROM t",
        );
        check(
            "select date_part('dayofweek', ts), date_trunc(mon, ts), date_trunc('week', '2026-11-28 10:00') from t",
            "SELECT date_part('dow', ts), date_trunc('month', ts), date_trunc('week', CAST('2026-11-28 10:00' AS TIMESTAMP)) \
             FROM t",
        );
        // Not a date part: could be a column holding one.
        unchanged("select date_trunc(grain, ts) from t");
    }

    #[test]
    fn trunc_of_a_timestamp_literal_and_convert_timezone() {
        check(
            "select trunc('2026-11-28 10:11:12')",
            "SELECT trunc(CAST('2026-11-28 10:11:12' AS TIMESTAMP))",
        );
        unchanged("select trunc(getdate()), trunc(ts), trunc(1.5), trunc(x, 2) from t");
        unchanged("select trunc('1.5')");
        check(
            "select convert_timezone('UTC', 'America/New_York', '2026-07-01 12:00')",
            "SELECT convert_timezone('UTC', 'America/New_York', CAST('2026-07-01 12:00' AS TIMESTAMP))",
        );
        unchanged("select convert_timezone('EST', ts), convert_timezone('UTC', 'PST', ts) from t");
    }

    #[test]
    fn listagg_becomes_string_agg() {
        check(
            "select listagg(name, ', ') within group (order by name desc) from t",
            "SELECT string_agg(CAST(name AS TEXT), ', ' ORDER BY name DESC) FROM t",
        );
        check(
            "select listagg(name) from t",
            "SELECT string_agg(CAST(name AS TEXT), '') FROM t",
        );
        check(
            "select listagg(distinct name, ',') within group (order by name) from t",
            "SELECT string_agg(DISTINCT CAST(name AS TEXT), ',' ORDER BY CAST(name AS TEXT)) FROM t",
        );
        check(
            "select listagg(name, ',') within group (order by id) over (partition by g) from t",
            "SELECT string_agg(CAST(name AS TEXT), ',') OVER (PARTITION BY g ORDER BY id ROWS BETWEEN UNBOUNDED \
             PRECEDING AND UNBOUNDED FOLLOWING) FROM t",
        );
    }

    #[test]
    fn approximate_count_is_exact() {
        check(
            "select approximate count(distinct x) from t",
            "select count(distinct x) from t",
        );
        check(
            "select approximate count(distinct x), nvl(y, 0) from t group by 2",
            "SELECT count(DISTINCT x), coalesce(y, 0) FROM t GROUP BY 2",
        );
    }

    #[test]
    fn top_and_minus() {
        check(
            "select top 10 a from t order by a",
            "SELECT a FROM t ORDER BY a LIMIT 10",
        );
        check(
            "select * from (select top 1 a from t) q",
            "SELECT * FROM (SELECT a FROM t LIMIT 1) q",
        );
        check(
            "select a from t minus select a from u",
            "SELECT a FROM t EXCEPT SELECT a FROM u",
        );
        check(
            "select a from t minus select a from u minus select a from v",
            "SELECT a FROM t EXCEPT SELECT a FROM u EXCEPT SELECT a FROM v",
        );
    }

    #[test]
    fn create_table_attributes_are_stripped() {
        check(
            "create table t (a int, b int) diststyle key distkey(b) sortkey(a)",
            "create table t (a int, b int)",
        );
        check(
            "create table t (a int encode az64 distkey, b varchar(10) encode zstd sortkey not null) \
             diststyle even compound sortkey(a, b) backup no",
            "create table t (a int, b varchar(10) not null)",
        );
        check(
            "create table t (a int) interleaved sortkey (a)\nbackup yes",
            "create table t (a int)",
        );
        check(
            "CREATE TABLE t (a INT) DISTSTYLE AUTO SORTKEY AUTO ENCODE AUTO",
            "CREATE TABLE t (a INT)",
        );
        // Columns may be called sortkey or distkey.
        check(
            "create table t (sortkey int, distkey int encode raw)",
            "create table t (sortkey int, distkey int)",
        );
        check(
            "create table sortkey (a int) sortkey (a)",
            "create table sortkey (a int)",
        );
        check(
            "create table s.distkey (a int) distkey (a)",
            "create table s.distkey (a int)",
        );
        check(
            "create table t (b varchar(20) collate case_insensitive)",
            "create table t (b varchar(20))",
        );
        // Never inside strings, quoted names or comments.
        check(
            "create table \"distkey\" (a varchar(9) default 'sortkey(a)' /* encode az64 */ encode az64) distkey(a)",
            "create table \"distkey\" (a varchar(9) default 'sortkey(a)' /* encode az64 */)",
        );
    }

    #[test]
    fn identity_columns() {
        check(
            "create table t (id int identity(1, 1), v text)",
            "create table t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 1 INCREMENT BY 1), v text)",
        );
        check(
            "create table t (id bigint identity(0,1) not null)",
            "create table t (id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 0 INCREMENT BY 1 MINVALUE 0) \
             not null)",
        );
        check(
            "create table t (id int identity(-1, -1))",
            "create table t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH -1 INCREMENT BY -1))",
        );
        check(
            "create table t (id int generated by default as identity(100, 5))",
            "create table t (id int generated by default as IDENTITY (START WITH 100 INCREMENT BY 5))",
        );
        unchanged("create table t (id int generated always as identity (start with 1))");
    }

    #[test]
    fn like_ctas_and_temp_tables() {
        unchanged("create table t2 (like t1)");
        unchanged("create table t2 (like t1 including defaults)");
        check(
            "create table t2 (like t1) diststyle all",
            "create table t2 (like t1)",
        );
        check(
            "create table t2 distkey(a) sortkey(b) as select * from t1",
            "create table t2 as select * from t1",
        );
        check(
            "create table t2 diststyle even as select nvl(a, 0) as a from t1",
            "CREATE TABLE t2 AS SELECT coalesce(a, 0) AS a FROM t1",
        );
        check(
            "create table #stage (a int)",
            "create TEMP table \"#stage\" (a int)",
        );
        check(
            "create temp table #Stage (a int)",
            "create temp table \"#stage\" (a int)",
        );
        check(
            "insert into #stage select 1",
            "insert into \"#stage\" select 1",
        );
        check(
            "select * into #s2 from #stage",
            "select * into TEMP \"#s2\" from \"#stage\"",
        );
    }

    #[test]
    fn varchar_max() {
        check(
            "create table t (a varchar(max), b character varying(max), c char(max), d nvarchar(max))",
            "create table t (a varchar(65535), b character varying(65535), c char(4096), d varchar(65535))",
        );
        check(
            "select cast(x as varchar(max)) from t",
            "select cast(x as varchar(65535)) from t",
        );
    }

    #[test]
    fn alter_table() {
        for sql in [
            "alter table t alter diststyle even",
            "alter table t alter distkey b",
            "alter table t alter sortkey (a, b)",
            "alter table t alter compound sortkey (a)",
            "alter table t alter encode auto",
            "alter table t alter column b encode az64",
        ] {
            check(sql, NO_OP);
        }
        check(
            "alter table t add column c varchar(max) encode zstd default 'x'",
            "alter table t add column c varchar(65535) default 'x'",
        );
        unchanged("alter table t add column c int");
        unchanged("alter table t alter column c type bigint");
    }

    #[test]
    fn vacuum_and_analyze() {
        check("vacuum full t to 99 percent", "VACUUM t");
        check("vacuum delete only t", "VACUUM t");
        check("VACUUM SORT ONLY", "VACUUM");
        check("vacuum reindex s.t", "VACUUM s.t");
        check("vacuum recluster t", "VACUUM t");
        check("vacuum t to 75 percent boost", "VACUUM t");
        check("analyze t predicate columns", "analyze t");
        check("analyze t (a, b) all columns", "analyze t (a, b)");
        check("analyze compression t", ANALYZE_COMPRESSION);
        check("analyze compression", ANALYZE_COMPRESSION);
    }

    #[test]
    fn redshift_only_settings_are_no_ops() {
        check("set query_group to 'etl'", NO_OP);
        check("SET wlm_query_slot_count TO 3", NO_OP);
        check("set enable_result_cache_for_session to off", NO_OP);
        check("reset query_group", NO_OP);
        unchanged("set statement_timeout to 1000");
    }

    #[test]
    fn procedures_keep_their_text_and_get_their_bodies_translated() {
        unchanged(
            "create or replace procedure p(a int) as $$ begin insert into t values (a); end; $$ language plpgsql",
        );
        check(
            "create or replace procedure p() nonatomic as $$\nbegin\n  select datediff(day, a, b) into d from t;\n  \
             create temp table s (x int encode az64) diststyle even;\n  raise info 'now %', sysdate;\nend;\n$$ \
             language plpgsql",
            "create or replace procedure p() as $$\nbegin\n  select datediff('day', a, b) into d from t;\n  \
             create temp table s (x int);\n  raise info 'now %', LOCALTIMESTAMP;\nend;\n$$ language plpgsql",
        );
        check(
            "create function f(int) returns int stable as $body$ select nvl($1, 0) $body$ language sql",
            "create function f(int) returns int stable as $body$ select coalesce($1, 0) $body$ language sql",
        );
        unchanged("call p(1, 'a')");
        check("call p(sysdate)", "CALL p(LOCALTIMESTAMP)");
    }

    #[test]
    fn backslash_escapes_read_as_redshift_reads_them() {
        check(r"select 'a\\b', 'it\'s'", "select 'a\\b', 'it''s'");
        check(
            r"select nvl(x, 'a\\b') from t",
            r"SELECT coalesce(x, 'a\b') FROM t",
        );
        check(r"select '\n'", "select '\n'");
    }

    #[test]
    fn statements_the_parser_refuses_still_get_token_rewrites() {
        // FILTER is PostgreSQL syntax the Redshift grammar does not read.
        check(
            "select count(*) filter (where x > 1), nvl(y, 0), datediff(day, a, b), sysdate from t",
            "select count(*) filter (where x > 1), coalesce(y, 0), datediff('day', a, b), LOCALTIMESTAMP from t",
        );
        check(
            "select E'\\t', nvl(a, b) from t",
            "select E'\\t', coalesce(a, b) from t",
        );
    }

    #[test]
    fn several_statements_are_translated_one_by_one() {
        check(
            "select 1; select nvl(a, b) from t;\ncreate table x (a int) diststyle even;",
            "select 1; SELECT coalesce(a, b) FROM t;\ncreate table x (a int);",
        );
    }

    #[test]
    fn blanks_around_a_printed_statement_are_kept() {
        check(
            "\n  select nvl(a, b) from t  \n",
            "\n  SELECT coalesce(a, b) FROM t  \n",
        );
    }

    #[test]
    fn placeholders_survive_a_rewrite() {
        check(
            "select nvl(:name, 'x'), $1 from t where id = :id",
            "SELECT coalesce(:name, 'x'), $1 FROM t WHERE id = :id",
        );
    }

    #[test]
    fn setup_sql_knows_every_date_part_alias_and_is_idempotent() {
        for (canonical, aliases) in DATE_PARTS {
            assert_eq!(canonical_part(canonical), Some(*canonical));
            for alias in *aliases {
                assert!(
                    *alias == "epoch" || SETUP_SQL.contains(&format!("'{alias}'")),
                    "{alias} missing from redshift_datepart"
                );
                assert_eq!(canonical_part(alias), Some(*canonical));
            }
        }
        let creates = SETUP_SQL.matches("CREATE ").count();
        assert!(creates > 10);
        assert_eq!(
            creates,
            SETUP_SQL
                .matches("CREATE OR REPLACE FUNCTION public.")
                .count()
        );
    }

    #[test]
    fn odd_input_never_panics() {
        for sql in [
            "$$",
            "'",
            "\"",
            "/*",
            "create table",
            "create table t (",
            "create table t (a int identity(",
            "create table t (a int identity(1,",
            "vacuum full",
            "vacuum to",
            "analyze",
            "select top",
            "select decode(",
            "select listagg(",
            "select nvl2(a)",
            "alter table",
            "set",
            "create or replace procedure p() as $$",
            "select \u{1F600}, nvl(a, b) from t",
            "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1",
        ] {
            let _ = to_postgres(sql);
        }
    }
}
