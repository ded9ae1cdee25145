#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = signet_cms::tsp::parse_response(data);
    let _ = signet_cms::tsp::TstInfo::parse(data);
});
