#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod error;
pub mod fetch;
pub mod ltv;
pub mod placement;
pub mod prepare;
pub mod sign;
mod time;

pub use error::{Error, Result};
pub use fetch::{FetchError, Fetched, Fetcher, FnFetcher, HttpFetcher, TimestampToken, TsaClient};
pub use ltv::{LtvError, Revocation, ValidationData, collect};
pub use placement::VisualRect;
pub use prepare::{Certification, SignatureOptions, TbsDocument, Visible, hash_original, prepare, prepare_hashed};
pub use sign::{CmsProvider, IdentityCms, TIMESTAMP_RESERVE, TbsSummary, sign_file, sign_update};
pub use time::pdf_date;
