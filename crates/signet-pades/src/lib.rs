#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod dss;
pub mod error;
pub mod fetch;
pub mod fields;
pub mod level;
pub mod ltv;
pub mod placement;
pub mod prepare;
pub mod sign;
mod time;
pub mod timestamp;

pub use dss::dss_update;
pub use error::{Error, Result};
pub use fetch::{FetchError, Fetched, Fetcher, FnFetcher, HttpFetcher, TimestampToken, TsaClient};
pub use fields::{FieldKind, FieldValue, FormFieldSpec, add_form_fields};
pub use level::{
    ExtendSummary, Level, OnlineValidation, Services, SignatureCerts, ValidationSource, cms_certs, extend_file,
    sign_bytes_at_level, sign_file_at_level, timestamp_file,
};
pub use ltv::{LtvError, Revocation, ValidationData, collect};
pub use placement::VisualRect;
pub use prepare::{
    Certification, SignatureKind, SignatureOptions, TbsDocument, TbsParts, Visible, hash_original, prepare,
    prepare_hashed,
};
pub use sign::{CmsProvider, IdentityCms, TIMESTAMP_RESERVE, TbsSummary, sign_file, sign_update};
pub use time::pdf_date;
pub use timestamp::{DocTimestampCms, TimestampedCms, Timestamper, add_signature_timestamp};
