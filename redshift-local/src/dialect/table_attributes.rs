//! What a `CREATE TABLE` declared that PostgreSQL has no place for (`DISTSTYLE`, `DISTKEY`, `[COMPOUND |
//! INTERLEAVED] SORTKEY`, column `ENCODE`): the token pass removes it from the statement, and the engine records it
//! in `redshift_system.table_attributes` once the table exists, for `pg_table_def` and `svv_table_info`.

use super::token_rules::create_table_rules;
use super::tokens::{tokenize, Edits, Stmt};
use sqlparser::tokenizer::Token;

/// A table's declared physical attributes, names as PostgreSQL stores them (unquoted ones lowercased).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct TableAttributes {
    /// The table as PostgreSQL's `to_regclass` reads it (each part quoted).
    pub(crate) table: String,
    /// `CREATE TABLE IF NOT EXISTS`: an existing table keeps the attributes it was created with.
    pub(crate) if_not_exists: bool,
    /// `DISTSTYLE` (`EVEN`, `KEY`, `ALL`, `AUTO`), if declared.
    pub(crate) diststyle: Option<String>,
    /// The distribution key column (table `DISTKEY(c)` or column `DISTKEY`).
    pub(crate) distkey: Option<String>,
    /// `COMPOUND`, `INTERLEAVED` or `AUTO`, if a sort key was declared.
    pub(crate) sortkey_style: Option<String>,
    /// The sort key columns, in order.
    pub(crate) sortkey: Vec<String>,
    /// Column `ENCODE`s: column and encoding keyword (lowercase).
    pub(crate) encodings: Vec<(String, String)>,
}

/// The attributes `sql` declares, when it is one `CREATE [TEMP] TABLE` statement (`None` otherwise, cheaply for
/// anything that does not start with `CREATE`).
pub(crate) fn declared(sql: &str) -> Option<TableAttributes> {
    let head = sql.trim_start().get(..6)?;
    if !head.eq_ignore_ascii_case("create") {
        return None;
    }
    let toks = tokenize(sql)?;
    let mut statements = toks
        .split(|t| t.token == Token::SemiColon)
        .filter(|chunk| Stmt::new(chunk).len() > 0);
    let chunk = statements.next()?;
    if statements.next().is_some() {
        return None;
    }
    let s = Stmt::new(chunk);
    let mut ed = Edits::new(chunk.len());
    create_table_rules(&s, 0, s.len(), &mut ed)
}

/// `name` as a quoted identifier.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Records `attrs` for the table a statement just created, on that statement's connection (so in its
/// transaction: a rolled-back `CREATE TABLE` leaves nothing behind). Needs [`SYSTEM_SQL`](super::SYSTEM_SQL).
pub(crate) async fn record(
    client: &tokio_postgres::Client,
    attrs: &TableAttributes,
) -> Result<(), tokio_postgres::Error> {
    let (columns, encodings): (Vec<&str>, Vec<&str>) = attrs
        .encodings
        .iter()
        .map(|(c, e)| (c.as_str(), e.as_str()))
        .unzip();
    client
        .execute(
            "SELECT redshift_system.record_table_attributes(to_regclass($1), $2, $3, $4, $5, $6, $7, $8)",
            &[
                &attrs.table,
                &!attrs.if_not_exists,
                &attrs.diststyle,
                &attrs.distkey,
                &attrs.sortkey_style,
                &attrs.sortkey,
                &columns,
                &encodings,
            ],
        )
        .await
        .map(|_| ())
}
