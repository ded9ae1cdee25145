//! Stream filters needed to read what signing touches (ISO 32000-2 §7.4): `/FlateDecode`
//! with PNG and TIFF predictors (§7.4.4.4), for object and cross-reference streams.
//!
//! Decoding is bounded: output larger than the caller's limit is an error, not an
//! allocation, so a small "zip bomb" stream cannot exhaust memory.

use std::io::Read;

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::error::{Error, Result};
use crate::object::{Dict, Object};

/// Compresses with zlib (level 6: what qpdf and most writers use).
pub fn flate_encode(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 64), Compression::new(6));
    // writing to a Vec cannot fail
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Inflates zlib data, refusing output beyond `limit` bytes. Truncated or corrupt tails keep
/// what was decoded so far only if at least something came out (as lenient readers do).
pub fn flate_decode(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(3).min(limit).min(1 << 24));
    let mut dec = ZlibDecoder::new(data).take(limit as u64 + 1);
    match dec.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if out.is_empty() => return Err(Error::Filter(format!("FlateDecode: {e}"))),
        Err(_) => {}
    }
    if out.len() > limit {
        return Err(Error::Limit(format!("decoded stream larger than {limit} bytes")));
    }
    Ok(out)
}

/// Decodes `raw` as `dict`'s `/Filter` and `/DecodeParms` say. Only the filters found on
/// object and cross-reference streams are supported; others are a clear error.
pub fn decode(dict: &Dict, raw: &[u8], limit: usize) -> Result<Vec<u8>> {
    let filters: Vec<&[u8]> = match dict.get("Filter") {
        None => Vec::new(),
        Some(Object::Name(n)) => vec![&n.0],
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_name).collect(),
        Some(_) => return Err(Error::Filter("/Filter is neither a name nor an array".into())),
    };
    let parms: Vec<Option<&Dict>> = match dict.get("DecodeParms") {
        Some(Object::Dict(d)) => vec![Some(d)],
        Some(Object::Array(a)) => a.iter().map(Object::as_dict).collect(),
        _ => Vec::new(),
    };
    let mut data = raw.to_vec();
    for (i, f) in filters.iter().enumerate() {
        let parm = parms.get(i).copied().flatten();
        data = match *f {
            b"FlateDecode" | b"Fl" => {
                let inflated = flate_decode(&data, limit)?;
                match parm {
                    Some(p) => unpredict(p, inflated, limit)?,
                    None => inflated,
                }
            }
            b"Crypt" => data, // handled by the security handler (identity crypt filter)
            other => {
                return Err(Error::Filter(format!("filter /{} is not supported here", String::from_utf8_lossy(other))));
            }
        };
    }
    Ok(data)
}

/// Undoes a `/Predictor` (§7.4.4.4, Table 8). PNG predictors (>= 10) choose a filter per row.
fn unpredict(parms: &Dict, data: Vec<u8>, limit: usize) -> Result<Vec<u8>> {
    let predictor = parms.get_int("Predictor").unwrap_or(1);
    if predictor <= 1 {
        return Ok(data);
    }
    let colors = parms.get_int("Colors").unwrap_or(1);
    let bpc = parms.get_int("BitsPerComponent").unwrap_or(8);
    let columns = parms.get_int("Columns").unwrap_or(1);
    if !(1..=32).contains(&colors) || ![1, 2, 4, 8, 16].contains(&bpc) || !(1..=1 << 20).contains(&columns) {
        return Err(Error::Filter("bad predictor parameters".into()));
    }
    let bpp = ((colors * bpc + 7) / 8) as usize;
    let row_len = ((colors * bpc * columns + 7) / 8) as usize;
    if predictor == 2 {
        if bpc != 8 {
            return Err(Error::Filter("TIFF predictor with other than 8 bits".into()));
        }
        let mut out = data;
        for row in out.chunks_mut(row_len) {
            for i in bpp..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        return Ok(out);
    }
    // a short last row is padded to row_len: bound the padded output, not just the input
    if data.len().div_ceil(row_len + 1).saturating_mul(row_len) > limit {
        return Err(Error::Limit(format!("predicted stream larger than {limit} bytes")));
    }
    let mut out = Vec::with_capacity(data.len().min(limit));
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let (&ty, row) = chunk.split_first().unwrap_or((&0, &[]));
        let mut cur = row.to_vec();
        cur.resize(row_len, 0);
        for i in 0..row_len {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match ty {
                0 => cur[i],
                1 => cur[i].wrapping_add(left),
                2 => cur[i].wrapping_add(up),
                3 => cur[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => cur[i].wrapping_add(paeth(left, up, up_left)),
                t => return Err(Error::Filter(format!("unknown PNG predictor row type {t}"))),
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flate_round_trip() {
        let data = b"hello hello hello hello".repeat(10);
        assert_eq!(flate_decode(&flate_encode(&data), 1 << 20).unwrap(), data);
    }

    #[test]
    fn flate_bomb_is_bounded() {
        let data = vec![0u8; 10_000_000];
        let enc = flate_encode(&data);
        assert!(matches!(flate_decode(&enc, 1_000_000), Err(Error::Limit(_))));
    }

    #[test]
    fn png_up_predictor() {
        // two rows of 3 columns, filter type 2 (Up)
        let raw = [2u8, 1, 2, 3, 2, 1, 1, 1];
        let parms = Dict::new().with("Predictor", 12).with("Columns", 3);
        assert_eq!(unpredict(&parms, raw.to_vec(), 100).unwrap(), vec![1, 2, 3, 2, 3, 4]);
    }

    #[test]
    fn png_predictor_short_row_with_huge_columns_is_bounded() {
        // fuzz (pdf_filter): 4 bytes of zlib with /Predictor 15 /Colors 13 /Columns 343000
        // padded one short row to 4,459,000 bytes, past the 1 MiB limit
        let parms = Dict::new().with("Predictor", 15).with("Colors", 13).with("Columns", 343_000);
        assert!(matches!(unpredict(&parms, vec![0, 1], 1 << 20), Err(Error::Limit(_))));
        let parms = Dict::new().with("Predictor", 12).with("Columns", 3);
        assert!(unpredict(&parms, vec![2u8, 1, 2, 3, 2, 1, 1, 1], 6).is_ok());
        assert!(matches!(unpredict(&parms, vec![2u8, 1, 2, 3, 2], 5), Err(Error::Limit(_))));
    }
}
