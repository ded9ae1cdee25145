//! PDF date strings (ISO 32000-2 §7.9.4) without a calendar dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// `D:YYYYMMDDHHmmSS+00'00'` for `t` in UTC (seconds before 1970 clamp to the epoch).
pub fn pdf_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!("D:{y:04}{mo:02}{d:02}{:02}{:02}{:02}+00'00'", s / 3600, s / 60 % 60, s % 60)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
