//! Result rows as the Data API's `Records`: each value as the `Field` union, and a result's `ResultSize`.
//!
//! Its own module because two sides need it: `wire` sends the rows in `GetStatementResult`, and `engine` reports
//! their size when a statement finishes. Both depend on it, and it on neither, so `engine` need not reach into
//! `wire` (which depends on `engine`).

use crate::values::Cell;
use serde_json::{json, Value};

/// A value as the `Field` union.
fn field(cell: &Cell) -> Value {
    match cell {
        Cell::Null => json!({"isNull": true}),
        Cell::Bool(b) => json!({"booleanValue": b}),
        Cell::Long(n) => json!({"longValue": n}),
        Cell::Double(d) => json!({"doubleValue": d}),
        Cell::Text(s) => json!({"stringValue": s}),
    }
}

/// Rows as `Records`: lists of `Field`s.
pub(crate) fn records(rows: &[Vec<Cell>]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| Value::Array(row.iter().map(field).collect()))
            .collect(),
    )
}

/// A result's `ResultSize`: the bytes of its rows as `GetStatementResult` sends them.
pub(crate) fn records_size(rows: &[Vec<Cell>]) -> i64 {
    records(rows).to_string().len() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_shapes() {
        let rows = vec![vec![
            Cell::Null,
            Cell::Bool(true),
            Cell::Long(9000000000),
            Cell::Double(1.5),
            Cell::Text("x".into()),
        ]];
        assert_eq!(
            records(&rows),
            json!([[{"isNull": true}, {"booleanValue": true}, {"longValue": 9000000000i64},
                    {"doubleValue": 1.5}, {"stringValue": "x"}]])
        );
        assert_eq!(records_size(&rows), records(&rows).to_string().len() as i64);
    }
}
