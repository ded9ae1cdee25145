#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = signet_access::jwt::Jwks::from_json(data);
});
