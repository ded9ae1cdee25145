#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = signet_cms::ocsp::OcspResponse::parse(data);
});
