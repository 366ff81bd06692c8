//! Any SQS body given to the completer's event parser: it never panics; it is ours, foreign, or malformed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tasker_core::{parse_body, StatementPrefix};

fuzz_target!(|data: &[u8]| {
    let prefix = StatementPrefix::parse("etl").expect("a valid prefix");
    if let Ok(body) = std::str::from_utf8(data) {
        if let Ok(tasker_core::Message::Ours(change)) = parse_body(body, &prefix) {
            assert!(prefix.owns(&change.statement_name));
        }
    }
});
