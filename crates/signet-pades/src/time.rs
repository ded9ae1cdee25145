//! PDF date strings (ISO 32000-2 §7.9.4) without a calendar dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// `D:YYYYMMDDHHmmSS+00'00'` for `t` in UTC (seconds before 1970 clamp to the epoch).
pub fn pdf_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, mo, d) = signet_crypto::asn1::civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!("D:{y:04}{mo:02}{d:02}{:02}{:02}{:02}+00'00'", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        assert_eq!(pdf_date(UNIX_EPOCH), "D:19700101000000+00'00'");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_395_661); // 2026-11-23 01:01:01 UTC
        assert_eq!(pdf_date(t), "D:20261123010101+00'00'");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(pdf_date(leap), "D:20000229000000+00'00'");
    }
}
