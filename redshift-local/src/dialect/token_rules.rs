//! The token-level pass (layer 2): rewrites of what `sqlparser` refuses to parse or PostgreSQL does not know,
//! made token by token so string literals, quoted identifiers, dollar-quoted bodies and comments are never
//! touched.
//!
//! Rules that edit a statement in place (table and column attributes, `IDENTITY`, `VARCHAR(MAX)`, `#temp`
//! tables, procedure bodies, backslash escapes, and the light rules for text the parser cannot read), and the
//! Redshift-only statements replaced as a whole (`VACUUM`, `ANALYZE`, `SET`, physical-only `ALTER TABLE`).

use super::date_parts::canonical_part;
use super::table_attributes::{quote_ident, TableAttributes};
use super::tokens::{tokenize, Edits, Stmt};
use sqlparser::tokenizer::Token;

/// A statement that does nothing and has no result set, for Redshift statements with no PostgreSQL meaning
/// (physical layout changes such as `ALTER TABLE ... ALTER DISTKEY`, Redshift-only session settings).
pub(super) const NO_OP: &str = "DO $$BEGIN END$$";

/// What `ANALYZE COMPRESSION` becomes: Redshift's result columns with no rows (no encoding to recommend).
pub(super) const ANALYZE_COMPRESSION: &str =
    "SELECT CAST(NULL AS VARCHAR) AS \"table\", CAST(NULL AS VARCHAR) AS \"column\", \
     CAST(NULL AS VARCHAR) AS encoding, CAST(NULL AS NUMERIC) AS est_reduction_pct WHERE false";

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

/// Redshift reads backslash escapes in string literals (`'a\\b'` is `a\b`, `'\n'` a newline), PostgreSQL does
/// not: literals with a backslash are written out as PostgreSQL reads them. Only for text that goes out token by
/// token; the parser already resolved them in a printed AST (so this never runs before parsing).
pub(super) fn backslash_rules(s: &Stmt, ed: &mut Edits) {
    for j in 0..s.len() {
        if let Some(Token::SingleQuotedString(value)) = s.tok(j) {
            let i = s.idx(j);
            if ed.repl[i].is_none() && s.toks[i].text.contains('\\') && !value.contains('\0') {
                ed.set(i, format!("'{}'", value.replace('\'', "''")));
            }
        }
    }
}

/// Token rules for every statement: `APPROXIMATE` aggregates, `VARCHAR(MAX)`, `NVARCHAR`, `#temp` tables.
pub(super) fn common_rules(s: &Stmt, ed: &mut Edits) {
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
/// identity column. Answers what the attributes declared (`None` when this is no `CREATE TABLE`), for the system
/// views to show.
pub(super) fn create_table_rules(
    s: &Stmt,
    start: usize,
    end: usize,
    ed: &mut Edits,
) -> Option<TableAttributes> {
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
        return None;
    }
    let table_kw = j;
    j += 1;
    let mut attrs = TableAttributes::default();
    if s.word_is(j, "if") && s.word_is(j + 1, "not") && s.word_is(j + 2, "exists") {
        attrs.if_not_exists = true;
        j += 3;
    }
    if let Some(Token::Word(w)) = s.tok(j) {
        if w.quote_style.is_none() && w.value.starts_with('#') && !temp {
            let table = s.toks[s.idx(table_kw)].text;
            ed.set(s.idx(table_kw), format!("TEMP {table}"));
        }
    }
    // Past the (possibly qualified) name: a table may well be called `sortkey`.
    let mut name = vec![ident_name(s, j)?];
    j += 1;
    while s.is(j, &Token::Period) {
        name.push(ident_name(s, j + 1)?);
        j += 2;
    }
    attrs.table = name
        .iter()
        .map(|part| quote_ident(part))
        .collect::<Vec<_>>()
        .join(".");
    let mut depth = 0usize;
    let mut column_start = false;
    let mut column = None;
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
            column = ident_name(s, j);
            j += 1;
            continue;
        }
        let w = s.word(j).unwrap_or_default();
        let next = s.word(j + 1).unwrap_or_default();
        let mut consumed = None;
        if depth == 0 {
            match w.as_str() {
                "as" => break,
                "diststyle" if !next.is_empty() => {
                    attrs.diststyle = Some(next.to_ascii_uppercase());
                    consumed = Some(j + 1)
                }
                "distkey" if s.is(j + 1, &Token::LParen) => {
                    consumed = s.paren_end(j + 1);
                    attrs.distkey = ident_name(s, j + 2);
                }
                "compound" | "interleaved" if next == "sortkey" && s.is(j + 2, &Token::LParen) => {
                    consumed = s.paren_end(j + 2);
                    attrs.sortkey_style = Some(w.to_ascii_uppercase());
                    attrs.sortkey = ident_list(s, j + 2, consumed);
                }
                "sortkey" if s.is(j + 1, &Token::LParen) => {
                    consumed = s.paren_end(j + 1);
                    attrs.sortkey_style = Some("COMPOUND".into());
                    attrs.sortkey = ident_list(s, j + 1, consumed);
                }
                "sortkey" | "encode" if next == "auto" => {
                    if w == "sortkey" {
                        attrs.sortkey_style = Some("AUTO".into());
                    }
                    consumed = Some(j + 1)
                }
                "backup" if next == "yes" || next == "no" => consumed = Some(j + 1),
                _ => {}
            }
        } else if depth == 1 {
            match w.as_str() {
                "encode" if !next.is_empty() => {
                    if let Some(c) = &column {
                        attrs.encodings.push((c.clone(), next.clone()));
                    }
                    consumed = Some(j + 1)
                }
                "distkey" => {
                    attrs.distkey = column.clone();
                    consumed = Some(j)
                }
                "sortkey" => {
                    // A column SORTKEY is a one-column compound sort key (CREATE TABLE, "SORTKEY").
                    attrs.sortkey_style = Some("COMPOUND".into());
                    attrs.sortkey = column.iter().cloned().collect();
                    consumed = Some(j)
                }
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
    Some(attrs)
}

/// The name the identifier at `j` stands for: a quoted one as written, an unquoted one lowercased.
fn ident_name(s: &Stmt, j: usize) -> Option<String> {
    match s.tok(j)? {
        Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
        Token::Word(w) => Some(w.value.to_lowercase()),
        _ => None,
    }
}

/// The identifiers between the `(` at `open` and its `)` at `close`.
fn ident_list(s: &Stmt, open: usize, close: Option<usize>) -> Vec<String> {
    close.map_or_else(Vec::new, |close| {
        (open + 1..close).filter_map(|k| ident_name(s, k)).collect()
    })
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
pub(super) fn alter_is_physical_only(s: &Stmt) -> bool {
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
pub(super) fn alter_add_column_rules(s: &Stmt, ed: &mut Edits) {
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
pub(super) fn is_routine(s: &Stmt) -> bool {
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
pub(super) fn routine_rules(s: &Stmt, ed: &mut Edits) {
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
            let _ = create_table_rules(&s, j, end, &mut ed);
        }
    }
    ed.changed.then(|| ed.render(&toks))
}

/// Token-level rewrites of what the AST pass would do, for text the parser cannot read: `sysdate`, `nvl`,
/// `pgdate_part`, and bare date parts of `datediff`/`dateadd`/`date_part`/`date_trunc`.
pub(super) fn light_rules(s: &Stmt, ed: &mut Edits) {
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

/// Redshift's `VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [table] [TO n PERCENT] [BOOST]` as
/// PostgreSQL's plain `VACUUM [table]` (its closest: reclaims space, takes no exclusive lock, refuses to run in a
/// transaction block as Redshift's does). PostgreSQL's own forms are left alone.
pub(super) fn vacuum(s: &Stmt) -> Option<String> {
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
pub(super) fn analyze(s: &Stmt) -> Option<String> {
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
pub(super) fn redshift_only_setting(s: &Stmt) -> bool {
    let j = if s.word_is(1, "session") || s.word_is(1, "local") {
        2
    } else {
        1
    };
    s.word(j)
        .is_some_and(|p| REDSHIFT_ONLY_SETTINGS.contains(&p.as_str()))
}
