//! The standard security handler (being written).
#![allow(missing_docs, clippy::missing_errors_doc)]
use crate::object::{Dict, ObjRef, Object};
pub struct SecurityHandler;
impl SecurityHandler {
    pub fn open(_e: &Dict, _id0: &[u8], _pw: &[u8]) -> crate::Result<Self> {
        Err(crate::Error::Encryption("not yet supported".into()))
    }
    pub fn decrypt_object(&self, _id: ObjRef, _o: &mut Object) -> crate::Result<()> { Ok(()) }
    pub fn encrypt_object(&self, _id: ObjRef, _o: &mut Object) {}
    pub fn decrypt_stream(&self, _id: ObjRef, d: &[u8]) -> crate::Result<Vec<u8>> { Ok(d.to_vec()) }
}
