//! `GetStatementResultV2`'s `CSVRecords`: a page of rows as CSV text.

use crate::values::{Cell, Column};

/// One page: a CSV header line of the column names, then one line per row (RFC 4180 quoting; NULL is an empty
/// field, an empty string is `""` so the two stay apart).
pub(super) fn page(columns: &[Column], rows: &[Vec<Cell>]) -> String {
    let header = columns
        .iter()
        .map(|c| text(&c.name))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = header + "\n";
    for row in rows {
        out.push_str(&row.iter().map(field).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A typed value as a CSV field.
fn field(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Bool(b) => b.to_string(),
        Cell::Long(n) => n.to_string(),
        Cell::Double(d) => d.to_string(),
        Cell::Text(s) => text(s),
    }
}

/// A text as a CSV field: quoted when it holds a comma, quote or line break, or is empty.
fn text(s: &str) -> String {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::types::Type;

    #[test]
    fn csv_quotes_and_keeps_null_apart_from_empty() {
        let columns = [
            crate::values::column_metadata("id", &Type::INT4),
            crate::values::column_metadata("s,t", &Type::TEXT),
        ];
        let rows = [
            vec![Cell::Long(1), Cell::Text("a, \"b\"".into())],
            vec![Cell::Double(1.5), Cell::Null],
            vec![Cell::Bool(true), Cell::Text(String::new())],
        ];
        assert_eq!(
            page(&columns, &rows),
            "id,\"s,t\"\n1,\"a, \"\"b\"\"\"\n1.5,\ntrue,\"\"\n"
        );
    }
}
