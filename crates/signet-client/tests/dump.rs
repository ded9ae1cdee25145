#![allow(missing_docs, clippy::unwrap_used)]
#[test]
fn dump() {
    if let Ok(p) = std::env::var("DUMP_OPENAPI") {
        std::fs::write(p, serde_json::to_string_pretty(&signet_server::openapi()).unwrap()).unwrap();
    }
}
