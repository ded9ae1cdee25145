#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod base32;
mod error;
pub mod jwt;
pub mod password;
pub mod recovery;
pub mod throttle;
pub mod totp;

pub use error::Error;
pub use jwt::{Claims, JwtIssuer, JwtVerifier, http_error_text};
pub use password::{PasswordPolicy, hash_password, needs_rehash, verify_password};
pub use recovery::RecoveryCodes;
pub use throttle::{LoginThrottle, Retry, ThrottlePolicy};
pub use totp::TotpSecret;
