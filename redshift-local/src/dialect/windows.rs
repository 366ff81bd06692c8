//! Redshift's window functions PostgreSQL lacks, rewritten in the AST pass: `PERCENTILE_CONT` / `PERCENTILE_DISC`
//! `... WITHIN GROUP (ORDER BY x) OVER (PARTITION BY ...)` (PostgreSQL has no ordered-set window functions) and
//! `RATIO_TO_REPORT(x) OVER (PARTITION BY ...)`. `MEDIAN` needs no rewrite: `setup.sql` makes it a plain aggregate,
//! which PostgreSQL runs as a window function too.
//!
//! Redshift allows only `PARTITION BY` in these windows ("PERCENTILE_CONT window function", "RATIO_TO_REPORT window
//! function": the OVER clause cannot contain a window ordering or frame), so each becomes a function of its whole
//! partition: the partition's values collected with `array_agg(x) OVER (...)` and handed to `setup.sql`'s
//! `redshift_percentile_cont` / `redshift_percentile_disc`, which ignore NULLs and sort ties as the aggregate
//! forms do. Anything else (a window order or frame, `DESC`, a named window, `FILTER`) is left for PostgreSQL to
//! refuse with its own error naming the function.

use super::tree::parse_expr;
use sqlparser::ast::Expr;
use sqlparser::ast::{
    Function, FunctionArg, FunctionArgExpr, FunctionArguments, OrderBySort, WindowType,
};

/// The rewrite of window call `f` (named `name`, lowercased), if it is one of this module's.
pub(super) fn rewrite_window(name: &str, f: &Function) -> Option<Expr> {
    let Some(WindowType::WindowSpec(spec)) = &f.over else {
        return None;
    };
    if spec.window_name.is_some()
        || !spec.order_by.is_empty()
        || spec.window_frame.is_some()
        || f.filter.is_some()
        || f.null_treatment.is_some()
    {
        return None;
    }
    let over = if spec.partition_by.is_empty() {
        "OVER ()".to_string()
    } else {
        let exprs: Vec<String> = spec.partition_by.iter().map(ToString::to_string).collect();
        format!("OVER (PARTITION BY {})", exprs.join(", "))
    };
    let arg = single_arg(f)?;
    match name {
        "percentile_cont" | "percentile_disc" => {
            let [order] = f.within_group.as_slice() else {
                return None;
            };
            if matches!(
                order.options.sort,
                Some(OrderBySort::Desc | OrderBySort::Using(_))
            ) {
                return None;
            }
            parse_expr(&format!(
                "public.redshift_{name}({arg}, array_agg({}) {over})",
                order.expr
            ))
        }
        // RATIO_TO_REPORT: the value over the sum of the partition's values, as FLOAT8.
        "ratio_to_report" if f.within_group.is_empty() => parse_expr(&format!(
            "CAST({arg} AS DOUBLE PRECISION) / sum({arg}) {over}"
        )),
        _ => None,
    }
}

/// The one plain argument of `f(arg)`.
fn single_arg(f: &Function) -> Option<&Expr> {
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => Some(e),
        _ => None,
    }
}
