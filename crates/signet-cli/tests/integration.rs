//! The command line's and server's tests over HTTP, one module per file of this directory, in
//! one test binary. The browser tests (`browser.rs`, `browser_smoke.rs`, `embed.rs`) are
//! binaries of their own: each drives a Chromium and runs alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod api;
mod batches;
mod blobs_s3;
mod ca;
mod cli;
mod client;
mod deferred;
mod envelopes;
mod events;
mod identities;
mod levels;
mod mtls;
mod peer;
mod pkcs11;
mod placement;
mod readme;
mod seals;
mod serve;
mod split;
mod trust_services;
