#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod appearance;
pub mod crypt;
pub mod error;
pub mod filter;
pub mod lexer;
pub mod object;

pub use error::{Error, Result};
pub use object::{Dict, Name, ObjRef, Object, Stream, StreamData};
