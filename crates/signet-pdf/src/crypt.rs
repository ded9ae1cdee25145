//! The standard security handler (being written).
