#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod appearance;
pub mod crypt;
pub mod document;
pub mod error;
pub mod filter;
pub mod form;
pub mod lexer;
pub mod object;
pub mod source;
pub mod writer;
pub mod xref;

pub use document::{Document, Limits, Page, Rect};
pub use error::{Error, Result};
pub use object::{Dict, Name, ObjRef, Object, Stream, StreamData};
pub use source::{FileSource, Prefix, Source};
pub use writer::{IncrementalUpdate, WrittenUpdate};
