#![no_main]

// One PDF object (§7.3) from arbitrary bytes: numbers, strings, names, arrays, dicts, refs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = signet_pdf::lexer::parse_object(data);
});
