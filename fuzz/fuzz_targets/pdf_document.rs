#![no_main]

// A whole file: header, xref tables and streams, object streams, hybrid files, repair by
// scanning, Flate + predictors, the page tree and the AcroForm field tree.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(mut doc) = signet_pdf::Document::open(data.to_vec(), None) {
        let _ = doc.page_count();
        let _ = doc.page(0);
        let _ = doc.catalog();
        let _ = signet_pdf::form::fields(&mut doc);
    }
});
