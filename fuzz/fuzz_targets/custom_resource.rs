//! Any bytes that are JSON, given to the starter's custom-resource request parser: it never panics, every refusal
//! is `InvalidInput`, and a request it accepts answers only to an https URL of CloudFormation's response buckets
//! (the starter never PUTs anywhere else).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tasker_core::custom_resource::{is_cloudformation_response_url, parse};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        match parse(&value) {
            Ok(request) => assert!(is_cloudformation_response_url(
                &request.callback.response_url
            )),
            Err(e) => assert_eq!(e.error_type(), "InvalidInput", "{e}"),
        }
    }
});
