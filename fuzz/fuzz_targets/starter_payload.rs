//! Any bytes that are JSON, given to the starter's payload parser: it never panics, and every refusal is a typed
//! `InvalidInput` (the Step Functions error name users `Catch`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tasker_core::starter::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(e) = parse(&value) {
            assert_eq!(e.error_type(), "InvalidInput", "{e}");
        }
    }
});
