//! Redshift SQL in, PostgreSQL SQL out.
//!
//! Users of the local Data API bring the SQL they run on Redshift (`getdate()`, `nvl`, `datediff(day, ...)`,
//! `DISTKEY`/`SORTKEY`, `select top 10`, ...), which PostgreSQL refuses. This module closes most of that gap in
//! three layers, cheapest first:
//!
//! 1. [`SETUP_SQL`] creates, once per database, the functions Redshift has and PostgreSQL lacks (`getdate`,
//!    `datediff`, `dateadd`, `months_between`, `add_months`, `last_day`, `next_day`, `strtol`, `charindex`, `len`, `convert_timezone`,
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
//!
//! Each pass has its own module, and [`to_postgres`] runs them in the order above:
//!
//! - `setup.sql` is [`SETUP_SQL`], layer 1: the functions, created once per database (by the engine and
//!   `sql_role`), not per statement.
//! - `translate` is the pipeline: it splits the text into statements, runs the token rules, then the AST pass,
//!   and falls back to the text as it came whenever a pass cannot help.
//! - `tokens` holds what the token pass works on: tokens with their exact source text, one statement's
//!   significant tokens, and the edits made to them.
//! - `token_rules` is layer 2: the token-level rewrites and the statements replaced as a whole (`VACUUM`,
//!   `ANALYZE`, `SET`, physical-only `ALTER TABLE`).
//! - `tree` is layer 3: the rewrite of sqlparser's AST; `windows` holds its rewrites of the window functions
//!   PostgreSQL lacks (`percentile_cont`/`percentile_disc ... over`, `ratio_to_report`).
//! - `table_attributes` is what the token pass removes from a `CREATE TABLE` (`DISTKEY`, `SORTKEY`, ...), which
//!   the engine records for the system views of `system.sql` ([`SYSTEM_SQL`]).
//! - `date_parts` is Redshift's date-part names, which both passes normalize and `setup.sql` repeats.
//! - `tests` checks the whole pipeline, Redshift SQL in and PostgreSQL SQL out.

mod date_parts;
mod table_attributes;
#[cfg(test)]
mod tests;
mod token_rules;
mod tokens;
mod translate;
mod tree;
mod windows;

pub(crate) use table_attributes::{declared as declared_attributes, record as record_attributes};
pub(crate) use translate::to_postgres;

/// Redshift's system views (`pg_table_def`, `svv_table_info`, `svv_tables`, `svv_columns`, `stv_recents`,
/// `sys_query_history`) and the tables behind them, in schema `redshift_system`, created once per database by the
/// administrator after [`SETUP_SQL`]; it also puts that schema on the database's search path (`"$user", public,
/// redshift_system`). The SQL itself is `dialect/system.sql`.
pub(crate) const SYSTEM_SQL: &str = include_str!("system.sql");

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
///
/// The SQL itself is `dialect/setup.sql`.
pub(crate) const SETUP_SQL: &str = include_str!("setup.sql");
