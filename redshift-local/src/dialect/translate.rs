//! The pipeline: a SQL text split into statements, each through the token rules and then the AST pass, printed
//! back only when the AST changed, and left as it came whenever a pass cannot help or a dependency panics.

use super::token_rules::{
    alter_add_column_rules, alter_is_physical_only, analyze, backslash_rules, common_rules,
    create_table_rules, is_routine, light_rules, redshift_only_setting, routine_rules, vacuum,
    NO_OP,
};
use super::tokens::{tokenize, Edits, Stmt, Tok};
use super::tree::ast_rewrite;
use sqlparser::tokenizer::Token;

/// Translates one Redshift SQL statement to PostgreSQL. Falls back to the text unchanged when it cannot parse it,
/// so nothing PostgreSQL accepts today breaks.
///
/// Several statements separated by `;` are translated one by one. A statement is printed back by `sqlparser` only
/// when its AST was rewritten; otherwise its text is kept byte for byte, apart from the token-level edits (see the
/// [`dialect`](super) module documentation). Expects [`SETUP_SQL`](super::SETUP_SQL) to have run on the database
/// for the functions it leaves in place (`getdate()`, `datediff`, `dateadd`, ...). Never panics.
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
        let _ = create_table_rules(&s, 0, s.len(), &mut ed);
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

/// `printed` with the leading and trailing blanks of `original` (the printer drops them).
fn with_outer_blanks(original: &str, printed: &str) -> String {
    let trimmed_start = original.trim_start();
    let lead = &original[..original.len() - trimmed_start.len()];
    let trail = &trimmed_start[trimmed_start.trim_end().len()..];
    format!("{lead}{printed}{trail}")
}
