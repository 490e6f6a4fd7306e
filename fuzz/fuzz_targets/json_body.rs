#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err((status, body)) = sessiond::fuzzing::json_body(data) {
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].is_string() && body["retryable"].is_boolean(), "{body}");
    }
});
