//! In-memory signing of a one-page PDF with RSA-2048 and ECDSA P-256 (PAdES B-B, SHA-256):
//! open the document from bytes, prepare, hash, build the CMS, attach, assemble the output.
//!
//! Inputs (the peer kit's files by default; the benchmark is skipped when they are missing):
//!   SIGNET_BENCH_PDF           default /tmp/corpus1/01-simple-1page.pdf
//!   SIGNET_BENCH_PKI           default /tmp/pki (signer-rsa.p12, signer-ec.p12)
//!   SIGNET_BENCH_P12_PASSWORD  default "peer-test"
//!
//! Run: `cargo bench -p signet-pades --bench sign`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signet_crypto::{DigestAlgorithm, Identity};
use signet_pades::{IdentityCms, SignatureOptions, sign_update};
use signet_pdf::Document;

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

fn sign_once(pdf: &[u8], cms: &IdentityCms<'_>, opts: &SignatureOptions) -> Vec<u8> {
    let mut doc = Document::open(pdf, None).expect("open");
    let (_, update) = sign_update(&mut doc, opts, cms).expect("sign");
    let mut out = Vec::with_capacity(pdf.len() + update.len());
    out.extend_from_slice(pdf);
    out.extend_from_slice(&update);
    out
}

fn bench_sign(c: &mut Criterion) {
    let pdf_path = PathBuf::from(env_or("SIGNET_BENCH_PDF", "/tmp/corpus1/01-simple-1page.pdf"));
    let pki = PathBuf::from(env_or("SIGNET_BENCH_PKI", "/tmp/pki"));
    let password = env_or("SIGNET_BENCH_P12_PASSWORD", "peer-test");
    let Ok(pdf) = std::fs::read(&pdf_path) else {
        eprintln!("skipping: cannot read {} (set SIGNET_BENCH_PDF)", pdf_path.display());
        return;
    };
    let opts = SignatureOptions::default();
    let mut group = c.benchmark_group("sign_1page_in_memory");
    group.throughput(Throughput::Elements(1));
    for (name, file) in [("rsa2048", "signer-rsa.p12"), ("p256", "signer-ec.p12")] {
        let Ok(p12) = std::fs::read(pki.join(file)) else {
            eprintln!("skipping {name}: cannot read {} (set SIGNET_BENCH_PKI)", pki.join(file).display());
            continue;
        };
        let identity = Identity::from_pkcs12(&p12, &password).expect("load PKCS#12");
        let cms = IdentityCms::new(&identity, DigestAlgorithm::Sha256, None);
        group.bench_function(name, |b| b.iter(|| black_box(sign_once(black_box(&pdf), &cms, &opts))));
    }
    group.finish();
}

/// The floor: the private-key operation alone, over a signed-attributes-sized message.
fn bench_key(c: &mut Criterion) {
    let pki = PathBuf::from(env_or("SIGNET_BENCH_PKI", "/tmp/pki"));
    let password = env_or("SIGNET_BENCH_P12_PASSWORD", "peer-test");
    let mut group = c.benchmark_group("key_sign_only");
    group.throughput(Throughput::Elements(1));
    let message = [0x5au8; 200];
    for (name, file) in [("rsa2048", "signer-rsa.p12"), ("p256", "signer-ec.p12")] {
        let Ok(p12) = std::fs::read(pki.join(file)) else { continue };
        let identity = Identity::from_pkcs12(&p12, &password).expect("load PKCS#12");
        let scheme = identity.key_kind().default_scheme();
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(identity.signer.sign(scheme, DigestAlgorithm::Sha256, black_box(&message)).expect("sign"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sign, bench_key);
criterion_main!(benches);
