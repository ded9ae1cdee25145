//! The crate's error type.

use std::fmt;

/// Why a credential was refused or could not be checked.
///
/// The variants name exactly what is wrong, for logs and for an administrator setting up
/// single sign-on. What a person trying to log in is told is the caller's choice: usually
/// no more than "wrong credentials".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A new password is shorter than the [`PasswordPolicy`](crate::password::PasswordPolicy)
    /// allows.
    PasswordTooShort {
        /// Its length, in characters.
        len: usize,
        /// The shortest allowed.
        min: usize,
    },
    /// A password is longer than the policy allows (which bounds the work of hashing it).
    PasswordTooLong {
        /// Its length, in bytes.
        len: usize,
        /// The longest allowed.
        max: usize,
    },
    /// A stored password hash is not an Argon2 PHC string this crate can check, or its
    /// parameters are out of bounds.
    PasswordHash(String),
    /// A TOTP secret is not valid base32 or has the wrong length.
    BadSecret(String),
    /// The system's random number generator failed.
    Random,

    /// A token is not a well-formed JWS compact serialization (RFC 7515 §7.1) with JSON
    /// header and claims; the text says which part is wrong.
    Malformed(String),
    /// The token's `alg` (RFC 7515 §4.1.1) is `none`, symmetric, unknown, or not in the
    /// issuer's allowed list.
    AlgorithmNotAllowed {
        /// The `alg` header value.
        alg: String,
    },
    /// The token names a critical header extension (RFC 7515 §4.1.11), none of which are
    /// understood here.
    UnsupportedCritical(String),
    /// No key of the issuer's JWKS has the token's `kid` (RFC 7515 §4.1.4), even after
    /// fetching the JWKS again.
    UnknownKey {
        /// The `kid` header value; `None` when the token has none and the JWKS holds no key
        /// usable with its `alg`.
        kid: Option<String>,
    },
    /// The token has no `kid` and the JWKS holds several keys usable with its `alg`.
    NoKeyId {
        /// How many keys could have signed it.
        candidates: usize,
    },
    /// The key with the token's `kid` is not of a type usable with the token's `alg`, or
    /// the key's own `alg` (RFC 7517 §4.4) differs.
    KeyMismatch {
        /// The `kid` header value.
        kid: Option<String>,
        /// The `alg` header value.
        alg: String,
    },
    /// The signature does not verify with the selected key.
    BadSignature,
    /// The `iss` claim (RFC 7519 §4.1.1) is missing or is not the configured issuer.
    WrongIssuer {
        /// The `iss` claim, if any.
        got: Option<String>,
        /// The configured issuer.
        expected: String,
    },
    /// The `aud` claim (RFC 7519 §4.1.3) is missing or names none of the configured
    /// audiences.
    WrongAudience {
        /// The `aud` claim's values.
        got: Vec<String>,
        /// The configured audiences.
        expected: Vec<String>,
    },
    /// The `azp` claim (OpenID Connect Core §2) is not one of the configured audiences.
    WrongAuthorizedParty {
        /// The `azp` claim.
        got: String,
    },
    /// The token expired (`exp`, RFC 7519 §4.1.4), leeway included.
    Expired {
        /// The `exp` claim, Unix seconds.
        exp: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },
    /// The token is not valid yet (`nbf`, RFC 7519 §4.1.5), leeway included.
    NotYetValid {
        /// The `nbf` claim, Unix seconds.
        nbf: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },
    /// The token claims to be issued in the future (`iat`, RFC 7519 §4.1.6), leeway included.
    IssuedInFuture {
        /// The `iat` claim, Unix seconds.
        iat: i64,
        /// The time of the check, Unix seconds.
        now: i64,
    },
    /// A claim that must be there is missing or has the wrong JSON type.
    MissingClaim(&'static str),
    /// A JWK Set (RFC 7517 §5) is not JSON of the right shape, has too many keys, or has no
    /// key usable for signatures here.
    BadJwks(String),
    /// The issuer's JWKS could not be fetched or is not a usable JWK Set (RFC 7517 §5).
    Fetch {
        /// Where it was fetched from.
        url: String,
        /// Why it failed.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PasswordTooShort { len, min } => {
                write!(f, "the password has {len} characters; at least {min} are needed")
            }
            Self::PasswordTooLong { len, max } => {
                write!(f, "the password has {len} bytes; at most {max} are allowed")
            }
            Self::PasswordHash(s) => write!(f, "stored password hash: {s}"),
            Self::BadSecret(s) => write!(f, "TOTP secret: {s}"),
            Self::Random => f.write_str("the system's random number generator failed"),
            Self::Malformed(s) => write!(f, "malformed token: {s}"),
            Self::AlgorithmNotAllowed { alg } => write!(f, "token algorithm '{alg}' is not allowed"),
            Self::UnsupportedCritical(s) => write!(f, "token has a critical header extension '{s}'"),
            Self::UnknownKey { kid: Some(kid) } => write!(f, "the issuer's JWKS has no key with kid '{kid}'"),
            Self::UnknownKey { kid: None } => {
                f.write_str("the token has no kid and the issuer's JWKS has no key for its algorithm")
            }
            Self::NoKeyId { candidates } => {
                write!(f, "the token has no kid and the issuer's JWKS has {candidates} keys for its algorithm")
            }
            Self::KeyMismatch { kid, alg } => match kid {
                Some(kid) => write!(f, "the key with kid '{kid}' cannot verify '{alg}' signatures"),
                None => write!(f, "the key cannot verify '{alg}' signatures"),
            },
            Self::BadSignature => f.write_str("the token's signature does not verify"),
            Self::WrongIssuer { got: Some(got), expected } => {
                write!(f, "token issuer is '{got}', expected '{expected}'")
            }
            Self::WrongIssuer { got: None, expected } => write!(f, "token has no issuer, expected '{expected}'"),
            Self::WrongAudience { got, expected } => {
                write!(f, "token audience is {got:?}, expected one of {expected:?}")
            }
            Self::WrongAuthorizedParty { got } => write!(f, "token authorized party '{got}' is not an audience"),
            Self::Expired { exp, now } => write!(f, "token expired at {exp} (now {now})"),
            Self::NotYetValid { nbf, now } => write!(f, "token is not valid before {nbf} (now {now})"),
            Self::IssuedInFuture { iat, now } => write!(f, "token is issued at {iat}, in the future (now {now})"),
            Self::MissingClaim(name) => write!(f, "token claim '{name}' is missing or has the wrong type"),
            Self::BadJwks(s) => write!(f, "JWK Set: {s}"),
            Self::Fetch { url, reason } => write!(f, "JWKS from {url}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
