//! The AST pass (layer 3): the statement parsed with `RedshiftSqlDialect` and rewritten where a function cannot
//! help (bare keywords, clashes with PostgreSQL built-ins, syntax): `sysdate`, `nvl` -> `coalesce`, `nvl2`,
//! Redshift's `decode`, bare or abbreviated date parts, `listagg ... within group`, `top n`, `minus`, derived
//! tables without an alias, and (through `windows`) the window functions PostgreSQL lacks.

use super::date_parts::canonical_part;
use sqlparser::ast::{
    DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    LimitClause, ObjectName, ObjectNamePart, Query, SetExpr, SetOperator, TableAlias, TableFactor,
    TopQuantity, Value, VisitMut, VisitorMut, WindowType,
};
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Parses `text` with Redshift's grammar and rewrites the AST: `Ok(Some(printed))` when something changed,
/// `Ok(None)` when nothing did, `Err` when it does not parse.
pub(super) fn ast_rewrite(text: &str) -> Result<Option<String>, ()> {
    let mut statements = Parser::parse_sql(&RedshiftSqlDialect {}, text).map_err(|_| ())?;
    let mut rewriter = Rewriter {
        changed: false,
        unnamed: 0,
    };
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
    /// Derived tables named so far (see [`name_derived_table`]).
    unnamed: usize,
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

    fn post_visit_table_factor(&mut self, table: &mut TableFactor) -> ControlFlow<()> {
        if name_derived_table(table, self.unnamed + 1) {
            self.unnamed += 1;
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

/// A derived table without an alias (`FROM (SELECT ...), t`), which Redshift accepts and PostgreSQL 15 refuses
/// ("subquery in FROM must have an alias"), gets one: `unnamed_subquery_<n>`, numbered within the statement so two
/// of them in one `FROM` do not clash (PostgreSQL 16 names them `unnamed_subquery` internally). Nothing can refer to
/// it by that name in the original statement, so the name changes nothing else.
fn name_derived_table(table: &mut TableFactor, n: usize) -> bool {
    let TableFactor::Derived { alias, .. } = table else {
        return false;
    };
    if alias.is_some() {
        return false;
    }
    *alias = Some(TableAlias {
        explicit: true,
        name: Ident::new(format!("unnamed_subquery_{n}")),
        columns: vec![],
        at: None,
    });
    true
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
    if f.over.is_some() {
        if let Some(rewritten) = super::windows::rewrite_window(&name, f) {
            return Some(rewritten);
        }
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

/// `sql` parsed as one expression with Redshift's grammar.
pub(super) fn parse_expr(sql: &str) -> Option<Expr> {
    Parser::new(&RedshiftSqlDialect {})
        .try_with_sql(sql)
        .ok()?
        .parse_expr()
        .ok()
}
