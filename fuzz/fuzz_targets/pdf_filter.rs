#![no_main]

use signet_pdf::{Dict, Object};

// /FlateDecode with /DecodeParms: byte 0 picks the predictor (1, 2, 10..=15), byte 1 the
// columns (cubed, to reach wide rows), byte 2 colors and bits per component; the rest is the zlib data.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    const PREDICTORS: [i64; 8] = [1, 2, 10, 11, 12, 13, 14, 15];
    const BPC: [i64; 5] = [1, 2, 4, 8, 16];
    let predictor = PREDICTORS[usize::from(data[0]) % PREDICTORS.len()];
    let columns = i64::from(data[1]).pow(3); // 0 (refused) up to 16 581 375 (past the 1 << 20 cap)
    let colors = i64::from(data[2] & 0x1f) + 1;
    let bpc = BPC[usize::from(data[2] >> 5) % BPC.len()];
    let parms = Dict::new()
        .with("Predictor", Object::Int(predictor))
        .with("Columns", Object::Int(columns))
        .with("Colors", Object::Int(colors))
        .with("BitsPerComponent", Object::Int(bpc));
    let dict = Dict::new()
        .with("Filter", Object::name("FlateDecode"))
        .with("DecodeParms", Object::Dict(parms));
    const LIMIT: usize = 1 << 20;
    if let Ok(out) = signet_pdf::filter::decode(&dict, &data[3..], LIMIT) {
        // the documented bound: more than `limit` bytes of output is an error, never a result
        assert!(out.len() <= LIMIT, "decoded {} bytes past the {LIMIT} limit", out.len());
    }
});
