//! Recovery codes: single-use second factors for a user who lost their authenticator.
//!
//! Each code is 12 characters from a 31-character alphabet without look-alikes (no `0 1 i l
//! o`), shown as `abcd-efgh-jkmn`: 59 bits, too many to guess, so a plain SHA-256 of the
//! normalised code is a safe thing to store (a slow password hash would add nothing).

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;

use crate::Error;

/// The characters of a code.
const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters per code (59 bits).
const CODE_LEN: usize = 12;
/// Characters between dashes when shown.
const GROUP: usize = 4;
/// Codes in a set when none is asked for.
pub const DEFAULT_COUNT: usize = 10;

/// A fresh set of recovery codes: show [`codes`](Self::codes) to the user once, store
/// [`hashes`](Self::hashes). Its `Debug` does not show the codes.
pub struct RecoveryCodes {
    codes: Vec<String>,
    hashes: Vec<String>,
}

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryCodes").field("count", &self.codes.len()).finish_non_exhaustive()
    }
}

impl RecoveryCodes {
    /// `count` new random codes.
    pub fn generate(count: usize) -> Result<Self, Error> {
        let mut codes = Vec::with_capacity(count);
        for _ in 0..count {
            codes.push(random_code()?);
        }
        let hashes = codes.iter().map(|code| hash(&normalise(code))).collect();
        Ok(Self { codes, hashes })
    }

    /// The codes, as `abcd-efgh-jkmn`, to show once.
    pub fn codes(&self) -> &[String] {
        &self.codes
    }

    /// What to store: the SHA-256 of each normalised code, in lower-case hex, in the order of
    /// [`codes`](Self::codes).
    pub fn hashes(&self) -> &[String] {
        &self.hashes
    }
}

/// Which stored hash, if any, a typed code matches (case, spaces and dashes ignored). The
/// caller marks that one used or deletes it: a code works once.
pub fn matches<S: AsRef<str>>(input: &str, stored_hashes: &[S]) -> Option<usize> {
    if input.len() > 4 * CODE_LEN {
        return None;
    }
    let normalised = normalise(input);
    if normalised.len() != CODE_LEN || !normalised.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    let typed = hash(&normalised);
    let mut found = None;
    for (i, stored) in stored_hashes.iter().enumerate() {
        if verify_slices_are_equal(typed.as_bytes(), stored.as_ref().as_bytes()).is_ok() && found.is_none() {
            found = Some(i);
        }
    }
    found
}

fn random_code() -> Result<String, Error> {
    let mut code = String::with_capacity(CODE_LEN + CODE_LEN / GROUP);
    let mut chosen = 0;
    while chosen < CODE_LEN {
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Random)?;
        // Rejection sampling keeps every character equally likely: 248 = 8 × 31.
        for byte in bytes.into_iter().filter(|b| *b < 248) {
            if chosen == CODE_LEN {
                break;
            }
            if chosen > 0 && chosen % GROUP == 0 {
                code.push('-');
            }
            code.push(char::from(ALPHABET[usize::from(byte % 31)]));
            chosen += 1;
        }
    }
    Ok(code)
}

fn normalise(code: &str) -> String {
    code.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).flat_map(char::to_lowercase).collect()
}

fn hash(normalised: &str) -> String {
    let digest = digest::digest(&digest::SHA256, normalised.as_bytes());
    hex::encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_look_right() {
        let set = RecoveryCodes::generate(DEFAULT_COUNT).unwrap();
        assert_eq!(set.codes().len(), 10);
        assert_eq!(set.hashes().len(), 10);
        for code in set.codes() {
            assert_eq!(code.len(), 14, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 3, "{code}");
            assert!(groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| ALPHABET.contains(&b))), "{code}");
        }
        let mut unique = set.codes().to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert!(!format!("{set:?}").contains(&set.codes()[0]));
    }

    #[test]
    fn entropy_is_at_least_50_bits() {
        assert!(CODE_LEN as f64 * (ALPHABET.len() as f64).log2() >= 50.0);
        let mut letters = ALPHABET.to_vec();
        letters.sort();
        letters.dedup();
        assert_eq!(letters.len(), ALPHABET.len());
        assert!(!ALPHABET.iter().any(|b| b"01ilo".contains(b)));
    }

    #[test]
    fn each_code_matches_its_own_hash() {
        let set = RecoveryCodes::generate(5).unwrap();
        for (i, code) in set.codes().iter().enumerate() {
            assert_eq!(matches(code, set.hashes()), Some(i));
            assert_eq!(matches(&code.to_uppercase(), set.hashes()), Some(i));
            assert_eq!(matches(&code.replace('-', " "), set.hashes()), Some(i));
            assert_eq!(matches(&code.replace('-', ""), set.hashes()), Some(i));
        }
    }

    /// The caller removes a used hash; the code then matches nothing.
    #[test]
    fn a_used_code_no_longer_matches() {
        let set = RecoveryCodes::generate(3).unwrap();
        let mut stored = set.hashes().to_vec();
        let used = matches(&set.codes()[1], &stored).unwrap();
        stored.remove(used);
        assert_eq!(matches(&set.codes()[1], &stored), None);
        assert_eq!(matches(&set.codes()[2], &stored), Some(1));
    }

    #[test]
    fn wrong_input_matches_nothing() {
        let set = RecoveryCodes::generate(3).unwrap();
        for bad in ["", "abcd-efgh-jkm", "abcd-efgh-jkmnp", "abcd-efgh-jkm0", &set.hashes()[0]] {
            assert_eq!(matches(bad, set.hashes()), None, "{bad}");
        }
        assert_eq!(matches(&set.codes()[0], &[] as &[String]), None);
    }

    #[test]
    fn stored_hash_is_sha256_of_the_normalised_code() {
        assert_eq!(hash("abcdefghjkmn"), hash(&normalise("ABCD-efgh JKMN")));
        // SHA-256("abc"), FIPS 180-2 Appendix B.1.
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
