//! Civil time from Unix milliseconds, without a time library: the certificate needs only
//! the proleptic Gregorian calendar at a fixed offset.

use std::fmt::Write as _;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// `2024-05-01 20:34:56 UTC+08:00` (or `… UTC` at offset 0).
pub(crate) fn format_time(millis: i64, utc_offset_minutes: i32) -> String {
    format!("{} {}", local_time(millis, utc_offset_minutes), zone(utc_offset_minutes))
}

/// `2024-05-01 20:34:56`, the wall-clock time at the offset (for columns whose heading
/// names the zone). Milliseconds are cut, not rounded, so an event never shows a later
/// second than it happened in.
pub(crate) fn local_time(millis: i64, utc_offset_minutes: i32) -> String {
    let local = millis.saturating_add(i64::from(utc_offset_minutes) * 60_000);
    let (days, ms_of_day) = (local.div_euclid(MILLIS_PER_DAY), local.rem_euclid(MILLIS_PER_DAY));
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `UTC`, or `UTC+08:00`.
pub(crate) fn zone(utc_offset_minutes: i32) -> String {
    let mut s = String::from("UTC");
    if utc_offset_minutes != 0 {
        let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
        let abs = utc_offset_minutes.unsigned_abs();
        let _ = write!(s, "{sign}{:02}:{:02}", abs / 60, abs % 60);
    }
    s
}

/// A PDF date (ISO 32000-2 §7.9.4) in UTC: `D:20240501123456Z`.
pub(crate) fn pdf_date(millis: i64) -> String {
    let (days, ms_of_day) = (millis.div_euclid(MILLIS_PER_DAY), millis.rem_euclid(MILLIS_PER_DAY));
    let (y, m, d) = civil_from_days(days);
    // PDF dates have four-digit years
    let y = y.clamp(0, 9999);
    let secs = ms_of_day / 1000;
    format!("D:{y:04}{m:02}{d:02}{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Year, month, day of the day `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_time(0, 0), "1970-01-01 00:00:00 UTC");
        // 2024-02-29 23:59:59.999 UTC, a leap day
        assert_eq!(format_time(1_709_251_199_999, 0), "2024-02-29 23:59:59 UTC");
        assert_eq!(format_time(1_709_251_199_999, 480), "2024-03-01 07:59:59 UTC+08:00");
        assert_eq!(format_time(-1, -330), "1969-12-31 18:29:59 UTC-05:30");
        assert_eq!(local_time(1_709_251_199_999, 480), "2024-03-01 07:59:59");
        assert_eq!(zone(345), "UTC+05:45");
        assert_eq!(pdf_date(1_714_566_896_000), "D:20240501123456Z");
    }

    #[test]
    fn extremes_do_not_overflow() {
        assert!(format_time(i64::MAX, 1080).contains("UTC+18:00"));
        assert!(format_time(i64::MIN, -1080).ends_with("UTC-18:00"));
        assert!(pdf_date(i64::MAX).starts_with("D:9999"));
        assert!(pdf_date(i64::MIN).starts_with("D:0000"));
    }
}
