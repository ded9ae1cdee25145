//! Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226), as authenticator apps
//! compute them: HMAC-SHA-1, 6 digits, 30-second steps.
//!
//! A guess has a chance of 3 in a million per try (three steps are accepted), so logins
//! must also go through a [`LoginThrottle`](crate::throttle::LoginThrottle).

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;

use crate::{Error, base32};

/// Seconds per time step (RFC 6238 §4.1, `X`).
pub const PERIOD: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Bytes of a generated secret: 160 bits, the length RFC 4226 §4 (R6) recommends.
const SECRET_LEN: usize = 20;
/// The shortest secret accepted: 128 bits (RFC 4226 §4, R6).
const MIN_SECRET_LEN: usize = 16;
/// The longest secret accepted (the SHA-512 test seed of RFC 6238 Appendix B).
const MAX_SECRET_LEN: usize = 64;

/// The time step of a Unix time (RFC 6238 §4.2, `T`, with `T0 = 0`).
pub fn time_step(unix_secs: u64) -> u64 {
    unix_secs / PERIOD
}

/// The shared secret of one user's authenticator. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret {
    key: Vec<u8>,
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new random 160-bit secret, for enrolment.
    pub fn generate() -> Result<Self, Error> {
        let mut key = vec![0u8; SECRET_LEN];
        aws_lc_rs::rand::fill(&mut key).map_err(|_| Error::Random)?;
        Ok(Self { key })
    }

    /// A secret from its base32 form (RFC 4648 §6, either case, spaces and padding
    /// ignored), as stored or as shown to the user; 128 to 512 bits.
    pub fn from_base32(text: &str) -> Result<Self, Error> {
        let key = base32::decode(text).ok_or_else(|| Error::BadSecret("not base32".to_string()))?;
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&key.len()) {
            return Err(Error::BadSecret(format!(
                "{} bits; between {} and {} are accepted",
                key.len() * 8,
                MIN_SECRET_LEN * 8,
                MAX_SECRET_LEN * 8
            )));
        }
        Ok(Self { key })
    }

    /// The secret in upper-case base32 without padding, to store and to show for manual
    /// entry.
    pub fn to_base32(&self) -> String {
        base32::encode(&self.key)
    }

    /// The enrolment URI that authenticator apps read from a QR code (the Key Uri Format of
    /// Google Authenticator):
    /// `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`,
    /// with issuer and account percent-encoded.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = percent_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
            account = percent_encode(account),
            secret = self.to_base32(),
        )
    }

    /// The code for a Unix time.
    pub fn code_at(&self, unix_secs: u64) -> String {
        hotp(&self.key, Hash::Sha1, time_step(unix_secs), DIGITS)
    }

    /// Checks a code typed at `unix_secs` (spaces ignored), accepting one step of clock
    /// drift either way (RFC 6238 §5.2) and refusing a step at or before `last_used_step`,
    /// so a code seen once cannot be replayed (RFC 6238 §5.2, "MUST NOT accept the second
    /// attempt of the same OTP").
    ///
    /// Returns the matched time step: store it as the new `last_used_step`.
    pub fn verify(&self, code: &str, unix_secs: u64, last_used_step: Option<u64>) -> Option<u64> {
        if code.len() > 4 * DIGITS {
            return None;
        }
        let code: String = code.chars().filter(|c| *c != ' ').collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = time_step(unix_secs);
        let mut matched = None;
        for step in [now.checked_sub(1), Some(now), now.checked_add(1)].into_iter().flatten() {
            if last_used_step.is_some_and(|last| step <= last) {
                continue;
            }
            let expected = hotp(&self.key, Hash::Sha1, step, DIGITS);
            if verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok() && matched.is_none() {
                matched = Some(step);
            }
        }
        matched
    }
}

/// The HMAC of RFC 6238 §1.2 (`TOTP-MODE`): SHA-1 for authenticator apps, the others for the
/// test vectors of Appendix B.
#[derive(Debug, Clone, Copy)]
enum Hash {
    Sha1,
    #[cfg(test)]
    Sha256,
    #[cfg(test)]
    Sha512,
}

/// HOTP (RFC 4226 §5.3): HMAC of the 8-byte big-endian counter, dynamic truncation, the
/// low `digits` decimal digits.
fn hotp(key: &[u8], hash: Hash, counter: u64, digits: usize) -> String {
    let algorithm = match hash {
        Hash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        #[cfg(test)]
        Hash::Sha256 => hmac::HMAC_SHA256,
        #[cfg(test)]
        Hash::Sha512 => hmac::HMAC_SHA512,
    };
    let tag = hmac::sign(&hmac::Key::new(algorithm, key), &counter.to_be_bytes());
    let mac = tag.as_ref();
    // Dynamic truncation (RFC 4226 §5.3): the low 4 bits of the last byte are an offset;
    // the 31 bits from there are the binary code. The MAC is at least 20 bytes, so
    // offset + 3 (at most 18) is in range.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    let modulus = 10u64.pow(u32::try_from(digits).unwrap_or(6));
    format!("{:0digits$}", u64::from(binary) % modulus)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B: time, TOTP with SHA-1, SHA-256, SHA-512 (8 digits).
    #[test]
    fn rfc6238_appendix_b() {
        for (time, sha1, sha256, sha512) in [
            (59u64, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ] {
            let step = time_step(time);
            assert_eq!(hotp(SEED_SHA1, Hash::Sha1, step, 8), sha1, "SHA-1 at {time}");
            assert_eq!(hotp(SEED_SHA256, Hash::Sha256, step, 8), sha256, "SHA-256 at {time}");
            assert_eq!(hotp(SEED_SHA512, Hash::Sha512, step, 8), sha512, "SHA-512 at {time}");
            // The 6-digit code is the low 6 digits of the same number.
            let secret = TotpSecret { key: SEED_SHA1.to_vec() };
            assert_eq!(secret.code_at(time), sha1[2..]);
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counts 0 to 9.
    #[test]
    fn rfc4226_appendix_d() {
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (count, code) in expected.iter().enumerate() {
            assert_eq!(hotp(SEED_SHA1, Hash::Sha1, count as u64, 6), *code);
        }
    }

    #[test]
    fn verify_accepts_one_step_of_drift() {
        let secret = TotpSecret::generate().unwrap();
        let t = 1_700_000_000;
        let code = secret.code_at(t);
        assert_eq!(secret.verify(&code, t, None), Some(time_step(t)));
        assert_eq!(secret.verify(&code, t + PERIOD, None), Some(time_step(t)));
        assert_eq!(secret.verify(&code, t - PERIOD, None), Some(time_step(t)));
        assert_eq!(secret.verify(&code, t + 2 * PERIOD, None), None);
        assert_eq!(secret.verify(&code, t - 2 * PERIOD, None), None);
    }

    #[test]
    fn verify_refuses_replay() {
        let secret = TotpSecret::generate().unwrap();
        let t = 1_700_000_000;
        let code = secret.code_at(t);
        let step = secret.verify(&code, t, None).unwrap();
        assert_eq!(secret.verify(&code, t, Some(step)), None);
        assert_eq!(secret.verify(&code, t + 10, Some(step)), None);
        // The next step's code still works.
        let next = secret.code_at(t + PERIOD);
        assert_eq!(secret.verify(&next, t + PERIOD, Some(step)), Some(step + 1));
    }

    #[test]
    fn verify_refuses_malformed_codes() {
        let secret = TotpSecret::generate().unwrap();
        let code = secret.code_at(0);
        assert_eq!(secret.verify(&format!("{} {}", &code[..3], &code[3..]), 0, None), Some(0));
        for bad in ["", "12345", "1234567", "12a456", "+12345", "１２３４５６"] {
            assert_eq!(secret.verify(bad, 0, None), None, "{bad}");
        }
    }

    #[test]
    fn base32_round_trip_and_bounds() {
        let secret = TotpSecret::generate().unwrap();
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text).unwrap(), secret);
        assert_eq!(TotpSecret::from_base32(&text.to_lowercase()).unwrap(), secret);
        // RFC 6238's SHA-1 seed, as apps show it.
        let seed = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(seed.key, SEED_SHA1);
        assert!(matches!(TotpSecret::from_base32("JBSWY3DPEHPK3PXP"), Err(Error::BadSecret(_))));
        assert!(matches!(TotpSecret::from_base32("not base32!"), Err(Error::BadSecret(_))));
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
    }

    #[test]
    fn otpauth_uri_key_uri_format() {
        let secret = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(
            secret.otpauth_uri("ACME Co", "jane.doe@example.com"),
            "otpauth://totp/ACME%20Co:jane.doe%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
        assert!(secret.otpauth_uri("A:B", "x").starts_with("otpauth://totp/A%3AB:x?"));
    }
}
