//! The S3 blob store against a real S3-compatible server (moto, started here on 127.0.0.1):
//! one PUT and multipart uploads, the read cache filled from the bucket, listing, deletion,
//! and a bucket that cannot be listed refused at start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io;

use signet_store::{BlobStore, DOWNLOAD_PREFIX, S3Credentials, S3Options};
use signet_testkit::{MotoServer, moto_python_or_skip};

fn options(moto: &MotoServer, url: &str) -> S3Options {
    S3Options {
        endpoint: Some(moto.endpoint()),
        region: Some("eu-west-1".into()),
        credentials: Some(S3Credentials { access_key_id: "testing".into(), secret_access_key: "testing".into() }),
        ..S3Options::from_url(url).unwrap()
    }
}

/// Bytes that no two parts share, so a part out of place would show.
fn document(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn s3_blob_store_round_trip() {
    let Some(python) = moto_python_or_skip("s3_blob_store_round_trip") else { return };
    let dir = tempfile::tempdir().unwrap();
    let moto = MotoServer::start(&python, "signet-store-test", &dir.path().join("moto.log"));
    let cache = dir.path().join("blobs");
    let store = BlobStore::s3(&options(&moto, "s3://signet-store-test/tenant/a"), &cache).unwrap();
    store.check().await.unwrap();
    assert!(store.describe().contains("s3://signet-store-test/tenant/a at http://127.0.0.1:"), "{}", store.describe());

    // small: one PUT; large: a multipart upload (8 MiB parts), read from the file part by part
    let small = b"%PDF-1.7 small".to_vec();
    store.put_bytes("docs/t/small.pdf", small.clone().into(), true).await.unwrap();
    let large = document((20 << 20) + 12345);
    let tmp = tempfile::NamedTempFile::new_in(store.staging_dir()).unwrap();
    std::fs::write(tmp.path(), &large).unwrap();
    let put = store.put_file("docs/t/large.pdf", tmp.into_temp_path(), false).await.unwrap();
    assert_eq!(put.size, large.len() as u64);

    // in the bucket, under the prefix, whole
    assert_eq!(
        moto.list("tenant/a/"),
        [("tenant/a/docs/t/large.pdf".to_string(), large.len() as u64), ("tenant/a/docs/t/small.pdf".into(), 14)]
    );
    assert!(moto.get("tenant/a/docs/t/large.pdf").unwrap() == large, "the uploaded object differs");
    let log = std::fs::read_to_string(dir.path().join("moto.log")).unwrap();
    assert!(log.contains("POST /signet-store-test/tenant/a/docs/t/large.pdf?uploads"), "no multipart upload:\n{log}");
    assert!(!log.contains("POST /signet-store-test/tenant/a/docs/t/small.pdf?uploads"), "{log}");
    // and kept in the cache
    assert!(std::fs::read(cache.join("docs/t/large.pdf")).unwrap() == large);

    // an empty cache is filled from the bucket
    std::fs::remove_dir_all(cache.join("docs")).unwrap();
    let path = store.local_file("docs/t/large.pdf").await.unwrap();
    assert_eq!(path, cache.join("docs/t/large.pdf"));
    assert!(std::fs::read(&path).unwrap() == large, "the downloaded copy differs");
    assert_eq!(store.read("docs/t/small.pdf").await.unwrap(), small);
    let left: Vec<_> = std::fs::read_dir(store.staging_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with(DOWNLOAD_PREFIX)), "downloads left behind: {left:?}");
    // a blob written by another server (not in this cache) is read from the bucket too
    moto.put("tenant/a/docs/t/other.pdf", b"from elsewhere");
    assert_eq!(store.read("docs/t/other.pdf").await.unwrap(), b"from elsewhere");

    assert_eq!(store.list("docs/t").await.unwrap(), ["docs/t/large.pdf", "docs/t/other.pdf", "docs/t/small.pdf"]);
    assert!(store.list("docs/none").await.unwrap().is_empty());

    // delete: the object and the cached copy; twice is fine
    store.delete("docs/t/large.pdf").await.unwrap();
    store.delete("docs/t/large.pdf").await.unwrap();
    assert!(moto.get("tenant/a/docs/t/large.pdf").is_none());
    assert!(!cache.join("docs/t/large.pdf").exists());
    let e = store.read("docs/t/large.pdf").await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    let text = e.to_string();
    assert!(text.contains("'docs/t/large.pdf'") && text.contains("s3://signet-store-test/tenant/a"), "{text}");

    // a bucket that does not exist: refused by check(), naming the bucket and the endpoint
    let missing = BlobStore::s3(&options(&moto, "s3://no-such-bucket"), &dir.path().join("other")).unwrap();
    let text = missing.check().await.unwrap_err().to_string();
    assert!(text.contains("'no-such-bucket'") && text.contains(&moto.endpoint()), "{text}");
}
