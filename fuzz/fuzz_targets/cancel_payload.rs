//! Any bytes that are JSON, given to the canceller's payload parser: it never panics, every refusal is
//! `InvalidInput`, and what it accepts is within the bounds of an index key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tasker_core::canceller::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        match parse(&value) {
            Ok(request) => assert!(request.execution_arn.len() <= 2048),
            Err(e) => assert_eq!(e.error_type(), "InvalidInput", "{e}"),
        }
    }
});
