//! The store's tests on SQLite and PostgreSQL, one module per file of this directory, in one
//! test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod blob_s3;
mod client_certs;
mod events;
mod preparations;
mod store;
mod webhooks;
