#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = signet_seal::clean_upload(data, None);
});
