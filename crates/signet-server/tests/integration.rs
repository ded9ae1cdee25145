//! The server's tests, one module per file of this directory, in one test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod api;
mod authority;
mod openapi;
mod people;
mod permissions;
mod seals;
mod versions;
mod webhooks;
