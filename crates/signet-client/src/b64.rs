//! Binary fields of the JSON (certificates, CMS, CRLs, PKCS#12 files): base64 (standard
//! alphabet, padded) in the JSON, bytes in this crate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

/// `Vec<u8>` as one base64 string.
pub(crate) mod bytes {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        STANDARD.decode(text.trim()).map_err(serde::de::Error::custom)
    }
}

/// `Vec<Vec<u8>>` from a list of base64 strings (answers only).
pub(crate) mod list {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts = Option::<Vec<String>>::deserialize(d)?.unwrap_or_default();
        texts.iter().map(|t| STANDARD.decode(t.trim()).map_err(serde::de::Error::custom)).collect()
    }
}

/// `Option<Vec<u8>>` as a base64 string (requests only: skip it when `None`).
pub(crate) mod opt_bytes {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }
}

/// `Option<Vec<Vec<u8>>>` as a list of base64 strings (requests only).
pub(crate) mod opt_list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<Vec<Vec<u8>>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(list) => s.collect_seq(list.iter().map(|b| STANDARD.encode(b))),
            None => s.serialize_none(),
        }
    }
}
