//! SHA-2 digests (FIPS 180-4) on `aws-lc-rs`.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use const_oid::ObjectIdentifier;

use crate::{Error, oid};

/// A digest algorithm allowed for new signatures (SHA-256 or stronger, as ETSI TS 119 312
/// recommends; SHA-1 and MD5 are refused by policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl DigestAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [Self; 3] = [Self::Sha256, Self::Sha384, Self::Sha512];

    /// The algorithm's OBJECT IDENTIFIER (RFC 5754 §2).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// The algorithm for an OID; SHA-1, MD5 and unknown OIDs are errors.
    pub fn from_oid(oid: &ObjectIdentifier) -> Result<Self, Error> {
        match *oid {
            oid::SHA256 => Ok(Self::Sha256),
            oid::SHA384 => Ok(Self::Sha384),
            oid::SHA512 => Ok(Self::Sha512),
            oid::SHA1 => Err(Error::UnsupportedAlgorithm("SHA-1 is refused by policy".into())),
            oid::MD5 => Err(Error::UnsupportedAlgorithm("MD5 is refused by policy".into())),
            other => Err(Error::UnsupportedAlgorithm(format!("digest algorithm {other}"))),
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Lower-case name: "sha256", "sha384", "sha512".
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// One-shot digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.aws(), data).as_ref().to_vec()
    }

    pub(crate) fn aws(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DigestAlgorithm {
    type Err = Error;

    /// Accepts "sha256", "SHA-256", "sha-384", ... (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm: String = s.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
        match norm.as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            "sha1" | "md5" => Err(Error::UnsupportedAlgorithm(format!("{s} is refused by policy for new signatures"))),
            _ => Err(Error::UnsupportedAlgorithm(format!("unknown digest '{s}'"))),
        }
    }
}

/// A streaming digest computation. Cloning forks it: the same prefix, hashed once.
#[derive(Clone)]
pub struct Hasher {
    alg: DigestAlgorithm,
    ctx: digest::Context,
}

impl Hasher {
    /// Starts a new computation.
    pub fn new(alg: DigestAlgorithm) -> Self {
        Self { alg, ctx: digest::Context::new(alg.aws()) }
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.alg
    }

    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// Feeds the bytes of `ranges` (offset, length), read with `read_at` (a positional read
    /// that fills as much of the buffer as it can, fewer bytes only at the end of the data).
    ///
    /// With `pipelined`, large inputs are read on a second thread while this one hashes, so
    /// reading and hashing overlap on two cores; small ones are always read inline (no thread
    /// to start). A caller that keeps the other core busy itself passes `false`.
    pub fn update_from_ranges(
        &mut self,
        ranges: &[(u64, u64)],
        read_at: &(dyn Fn(u64, &mut [u8]) -> std::io::Result<usize> + Sync),
        pipelined: bool,
    ) -> std::io::Result<()> {
        const CHUNK: usize = 256 << 10; // stays in L2 between the read and the hash
        const PIPELINE_FROM: u64 = 8 << 20;
        let total: u64 = ranges.iter().map(|r| r.1).sum();
        let short = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the data ends inside a range to hash");
        if total < PIPELINE_FROM || !pipelined {
            let mut buf = vec![0u8; CHUNK.min(total as usize).max(1)];
            for &(start, len) in ranges {
                let mut off = start;
                while off < start + len {
                    let want = ((start + len - off) as usize).min(buf.len());
                    let n = read_at(off, &mut buf[..want])?;
                    if n == 0 {
                        return Err(short());
                    }
                    self.update(&buf[..n]);
                    off += n as u64;
                }
            }
            return Ok(());
        }
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<std::io::Result<(Vec<u8>, usize)>>(2);
        let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(3);
        for _ in 0..3 {
            let _ = empty_tx.send(vec![0u8; CHUNK]);
        }
        std::thread::scope(|s| {
            s.spawn(move || {
                for &(start, len) in ranges {
                    let mut off = start;
                    while off < start + len {
                        let Ok(mut buf) = empty_rx.recv() else { return };
                        let want = ((start + len - off) as usize).min(buf.len());
                        let r = read_at(off, &mut buf[..want]);
                        let stop = !matches!(r, Ok(n) if n > 0);
                        let r = r.and_then(|n| if n == 0 { Err(short()) } else { Ok(n) });
                        if let Ok(n) = r {
                            off += n as u64;
                        }
                        if full_tx.send(r.map(|n| (buf, n))).is_err() || stop {
                            return;
                        }
                    }
                }
            });
            let mut done = 0u64;
            while done < total {
                let Ok(msg) = full_rx.recv() else { return Err(short()) };
                let (buf, n) = msg?;
                self.update(&buf[..n]);
                done += n as u64;
                let _ = empty_tx.send(buf);
            }
            Ok(())
        })
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Vec<u8> {
        self.ctx.finish().as_ref().to_vec()
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").field("alg", &self.alg).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_and_streaming() {
        let abc_256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let d = DigestAlgorithm::Sha256.digest(b"abc");
        assert_eq!(hex::encode(d), abc_256);
        for alg in DigestAlgorithm::ALL {
            let mut h = Hasher::new(alg);
            h.update(b"a");
            h.update(b"bc");
            let out = h.finish();
            assert_eq!(out, alg.digest(b"abc"));
            assert_eq!(out.len(), alg.output_len());
            assert_eq!(DigestAlgorithm::from_oid(&alg.oid()).ok(), Some(alg));
            assert_eq!(alg.name().parse::<DigestAlgorithm>().ok(), Some(alg));
        }
        assert_eq!("SHA-384".parse::<DigestAlgorithm>().ok(), Some(DigestAlgorithm::Sha384));
        assert!("sha1".parse::<DigestAlgorithm>().is_err());
        assert!(DigestAlgorithm::from_oid(&oid::SHA1).is_err());
    }
}
