//! Passwords, hashed with Argon2id (RFC 9106) into PHC strings.
//!
//! A stored hash reads `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (the PHC string
//! format, B64 without padding): it carries its own parameters, so hashes made with older
//! parameters keep verifying and [`needs_rehash`] tells when to replace one after a
//! successful login.
//!
//! Hashing and verifying take tens of milliseconds of CPU and 19 MiB of memory by design: an
//! async server runs them on a blocking thread (`tokio::task::spawn_blocking`), and a login
//! throttle keeps their number bounded.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, Version};
use aws_lc_rs::constant_time::verify_slices_are_equal;

use crate::Error;

/// The longest password hashed or verified, in bytes: Argon2 reads the whole password, so
/// this bounds the work a login request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The most memory a stored hash may ask for (1 GiB, in KiB): a hash edited or imported
/// with absurd parameters must not take the process's memory.
const MAX_VERIFY_MEMORY_KIB: u32 = 1024 * 1024;
/// The most passes a stored hash may ask for.
const MAX_VERIFY_ITERATIONS: u32 = 256;
/// Salt length in bytes (RFC 9106 §3.1 recommends 16).
const SALT_LEN: usize = 16;

/// What a new password must be like (NIST SP 800-63B §3.1.1.2: length, no composition
/// rules).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordPolicy {
    /// The fewest characters (Unicode scalar values). Default 12.
    pub min_len: usize,
    /// The most bytes of UTF-8. Default and ceiling: [`MAX_PASSWORD_BYTES`].
    pub max_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_len: 12, max_len: MAX_PASSWORD_BYTES }
    }
}

impl PasswordPolicy {
    /// Checks a new password, naming the problem.
    pub fn check(&self, password: &str) -> Result<(), Error> {
        let max = self.max_len.min(MAX_PASSWORD_BYTES);
        if password.len() > max {
            return Err(Error::PasswordTooLong { len: password.len(), max });
        }
        let chars = password.chars().count();
        if chars < self.min_len {
            return Err(Error::PasswordTooShort { len: chars, min: self.min_len });
        }
        Ok(())
    }
}

/// Argon2id cost parameters for new hashes.
///
/// The default is OWASP's first recommendation (Password Storage Cheat Sheet): 19 MiB of
/// memory, 2 passes, 1 lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HashParams {
    /// Memory, in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self { memory_kib: Params::DEFAULT_M_COST, iterations: Params::DEFAULT_T_COST, parallelism: 1 }
    }
}

impl HashParams {
    /// These parameters; [`Error::PasswordHash`] if Argon2 cannot use them.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, Error> {
        let params = Self { memory_kib, iterations, parallelism };
        params.argon2()?;
        Ok(params)
    }

    /// Hashes a password with a fresh random salt into a PHC string.
    pub fn hash(&self, password: &str) -> Result<String, Error> {
        check_length(password)?;
        let mut salt = [0u8; SALT_LEN];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| Error::Random)?;
        let hash = self
            .argon2()?
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map_err(|e| Error::PasswordHash(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Whether a stored hash should be replaced by a new one with these parameters (after
    /// the password was verified, while it is at hand): true when it is not Argon2id
    /// version 19 with exactly these parameters, or cannot be read at all.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(stored) = Stored::parse(phc) else {
            return true;
        };
        stored.algorithm != Algorithm::Argon2id
            || stored.version != Version::V0x13
            || stored.params.m_cost() != self.memory_kib
            || stored.params.t_cost() != self.iterations
            || stored.params.p_cost() != self.parallelism
            || stored.salt.len() < SALT_LEN
            || stored.hash.len() != Params::DEFAULT_OUTPUT_LEN
    }

    /// Does the work of one [`verify_password`] with these parameters and throws the result
    /// away: call it when the user is unknown, so the answer takes as long as for a known
    /// user and its timing does not tell which accounts exist.
    pub fn dummy_verify(&self, password: &str) {
        let Ok(argon2) = self.argon2() else {
            return;
        };
        let password = &password.as_bytes()[..password.len().min(MAX_PASSWORD_BYTES)];
        let mut computed = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let _ = argon2.hash_password_into(password, &[0u8; SALT_LEN], &mut computed);
        let _ = verify_slices_are_equal(&computed, &[0u8; Params::DEFAULT_OUTPUT_LEN]);
    }

    fn argon2(&self) -> Result<Argon2<'static>, Error> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|e| {
            Error::PasswordHash(format!(
                "parameters m={}, t={}, p={}: {e}",
                self.memory_kib, self.iterations, self.parallelism
            ))
        })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes a password with the default [`HashParams`] into a PHC string.
pub fn hash_password(password: &str) -> Result<String, Error> {
    HashParams::default().hash(password)
}

/// Checks a password against a stored PHC string, with the parameters the string holds
/// (any Argon2 variant and version, within bounds: at most 1 GiB of memory and 256
/// passes).
///
/// `Ok(false)` for a wrong password; an error when the stored hash cannot be used or the
/// password is longer than [`MAX_PASSWORD_BYTES`].
pub fn verify_password(password: &str, phc: &str) -> Result<bool, Error> {
    check_length(password)?;
    let stored = Stored::parse(phc)?;
    let mut computed = vec![0u8; stored.hash.len()];
    Argon2::new(stored.algorithm, stored.version, stored.params)
        .hash_password_into(password.as_bytes(), &stored.salt, &mut computed)
        .map_err(|e| Error::PasswordHash(e.to_string()))?;
    Ok(verify_slices_are_equal(&computed, &stored.hash).is_ok())
}

/// Whether a stored hash should be replaced by one with the default [`HashParams`]; see
/// [`HashParams::needs_rehash`].
pub fn needs_rehash(phc: &str) -> bool {
    HashParams::default().needs_rehash(phc)
}

/// [`HashParams::dummy_verify`] with the default parameters.
pub fn dummy_verify(password: &str) {
    HashParams::default().dummy_verify(password);
}

fn check_length(password: &str) -> Result<(), Error> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::PasswordTooLong { len: password.len(), max: MAX_PASSWORD_BYTES });
    }
    Ok(())
}

/// A stored PHC string, read and bounded.
struct Stored {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Stored {
    fn parse(phc: &str) -> Result<Self, Error> {
        let bad = |what: &str| Error::PasswordHash(what.to_string());
        let parsed = PasswordHash::new(phc).map_err(|e| Error::PasswordHash(format!("not a PHC string: {e}")))?;
        let algorithm = Algorithm::new(parsed.algorithm.as_str())
            .map_err(|_| Error::PasswordHash(format!("algorithm '{}' is not Argon2", parsed.algorithm.as_str())))?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).map_err(|_| Error::PasswordHash(format!("unknown Argon2 version {v}")))?,
            None => Version::V0x10,
        };
        let params =
            Params::try_from(&parsed).map_err(|e| Error::PasswordHash(format!("bad Argon2 parameters: {e}")))?;
        if params.m_cost() > MAX_VERIFY_MEMORY_KIB || params.t_cost() > MAX_VERIFY_ITERATIONS {
            return Err(Error::PasswordHash(format!(
                "parameters m={}, t={} exceed the bounds m<={MAX_VERIFY_MEMORY_KIB}, t<={MAX_VERIFY_ITERATIONS}",
                params.m_cost(),
                params.t_cost()
            )));
        }
        let salt = parsed.salt.ok_or_else(|| bad("no salt"))?.as_ref().to_vec();
        let hash = parsed.hash.ok_or_else(|| bad("no hash"))?.as_bytes().to_vec();
        Ok(Self { algorithm, version, params, salt, hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small parameters so the tests run fast; the defaults are tested once.
    fn quick() -> HashParams {
        HashParams::new(64, 1, 1).unwrap()
    }

    #[test]
    fn default_parameters_round_trip() {
        let phc = hash_password("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery staple", &phc).unwrap());
        assert!(!verify_password("correct horse battery stapler", &phc).unwrap());
        assert!(!needs_rehash(&phc));
    }

    #[test]
    fn salts_differ() {
        let a = quick().hash("same password").unwrap();
        let b = quick().hash("same password").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn verifies_with_the_stored_parameters() {
        let phc = quick().hash("pw-with-other-params").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(verify_password("pw-with-other-params", &phc).unwrap());
        assert!(needs_rehash(&phc));
        assert!(!quick().needs_rehash(&phc));
    }

    /// PHC strings made by the reference implementation (the `argon2` command of
    /// phc-winner-argon2): `echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e`.
    #[test]
    fn reference_implementation_strings() {
        let phc = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo";
        assert!(verify_password("password", phc).unwrap());
        assert!(!verify_password("Password", phc).unwrap());
        assert!(needs_rehash(phc));

        // `echo -n "hunter2 hunter2" | argon2 saltsaltsaltsalt -id -t 2 -k 19456 -p 1 -l 32 -e`
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$6bp6qLMxxyG17l0t30vK0bBPZV+tGaxpgEzIshTSTXY";
        assert!(verify_password("hunter2 hunter2", phc).unwrap());
        assert!(!needs_rehash(phc));
    }

    #[test]
    fn other_variants_verify_and_need_rehash() {
        // argon2i, from the reference implementation (`-i -t 2 -m 16 -p 4 -l 32`).
        let phc = "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$IMit9qkFULCMA/ViizL57cnTLOa5DiVM9eMwpAvPwr4";
        assert!(verify_password("password", phc).unwrap());
        assert!(needs_rehash(phc));
    }

    #[test]
    fn unusable_hashes_are_errors() {
        for phc in [
            "",
            "plaintext",
            "$2b$12$abcdefghijklmnopqrstuu5jZ9p2aZcZ0oB8i4s7iD5X0eF1gH2iG",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
            "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
            "$argon2id$v=19$m=19456,t=100000,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        ] {
            assert!(matches!(verify_password("password", phc), Err(Error::PasswordHash(_))), "{phc}");
            assert!(needs_rehash(phc), "{phc}");
        }
    }

    #[test]
    fn long_passwords_are_bounded() {
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(hash_password(&long), Err(Error::PasswordTooLong { .. })));
        let phc = quick().hash("short").unwrap();
        assert!(matches!(verify_password(&long, &phc), Err(Error::PasswordTooLong { .. })));
    }

    #[test]
    fn policy_names_the_problem() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.check("short"), Err(Error::PasswordTooShort { len: 5, min: 12 }));
        // Characters, not bytes: 12 two-byte characters pass.
        assert_eq!(policy.check(&"é".repeat(12)), Ok(()));
        assert_eq!(policy.check(&"é".repeat(11)), Err(Error::PasswordTooShort { len: 11, min: 12 }));
        assert_eq!(policy.check(&"x".repeat(2000)), Err(Error::PasswordTooLong { len: 2000, max: MAX_PASSWORD_BYTES }));
        let custom = PasswordPolicy { min_len: 4, max_len: 8 };
        assert_eq!(custom.check("abcd"), Ok(()));
        assert_eq!(custom.check("abcdefghi"), Err(Error::PasswordTooLong { len: 9, max: 8 }));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(matches!(HashParams::new(1, 1, 1), Err(Error::PasswordHash(_))));
        assert!(matches!(HashParams::new(64, 0, 1), Err(Error::PasswordHash(_))));
    }

    /// Timing on a shared machine is noisy: the two are measured in turns and the fastest
    /// run of each is compared, with a wide margin (what matters is milliseconds against
    /// microseconds).
    #[test]
    fn dummy_verify_takes_about_as_long_as_verify() {
        let params = HashParams::new(4096, 2, 1).unwrap();
        let phc = params.hash("a real password").unwrap();
        let timed = |f: &dyn Fn()| {
            let start = std::time::Instant::now();
            f();
            start.elapsed()
        };
        let (mut real, mut dummy) = (std::time::Duration::MAX, std::time::Duration::MAX);
        for _ in 0..9 {
            real = real.min(timed(&|| {
                let _ = verify_password("a wrong password", &phc);
            }));
            dummy = dummy.min(timed(&|| params.dummy_verify("a wrong password")));
        }
        assert!(dummy * 4 > real && real * 4 > dummy, "verify {real:?}, dummy {dummy:?}");
    }
}
