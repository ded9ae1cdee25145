//! Stored documents, their versions and page previews.

use serde::Deserialize;

use crate::operations::*;
use crate::{Client, Payload, Query, Result, Sink, Source};

/// A document just uploaded.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UploadedDocument {
    /// The document's id (`doc_…`): sign it later with
    /// [`sign_stored_document`](Client::sign_stored_document), or make an envelope of it.
    pub id: String,
    /// SHA-256, hexadecimal.
    pub sha256: String,
    /// Bytes.
    pub size: i64,
    /// Pages.
    pub page_count: i64,
}

/// A stored document: an upload or a signed output.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DocumentRecord {
    /// `doc_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// `upload` or `signed`.
    pub kind: String,
    /// The client's file name, if any.
    pub name: Option<String>,
    /// Where its bytes are.
    pub blob_key: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, hexadecimal.
    pub sha256: String,
    /// For a signed document: the document it was made from, when stored.
    pub source_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A page of the list of documents.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DocumentList {
    /// Newest first.
    pub items: Vec<DocumentLine>,
    /// Give as `before` for the next page; `None` at the end.
    pub next: Option<String>,
}

/// A line of the list of documents: its latest version.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DocumentLine {
    /// The first version's id: the document's name across its versions.
    pub root_id: String,
    /// The latest version's number.
    pub version: i64,
    /// The latest version.
    pub latest: DocumentRecord,
}

/// One version of a document.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DocumentVersion {
    /// 1 for the first.
    pub version: i64,
    /// The stored document of this version.
    pub document: DocumentRecord,
}

/// A document's versions, with the `ETag` that names the latest (give it to
/// [`add_version`](Client::add_version)).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct VersionList {
    /// Oldest first.
    pub versions: Vec<DocumentVersion>,
    /// The latest version's `ETag`, quoted as the server sends it.
    pub etag: Option<String>,
}

/// A version just added, with the `ETag` that now names the latest.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct VersionedDocument {
    /// The new version.
    pub version: DocumentVersion,
    /// Its `ETag`.
    pub etag: Option<String>,
}

/// A page's geometry as displayed (PDF points, `/Rotate` applied).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PageView {
    /// 1-based page number.
    pub page: i64,
    /// Pages in the document.
    pub page_count: i64,
    /// Width as displayed, PDF points.
    pub width: f64,
    /// Height as displayed, PDF points.
    pub height: f64,
    /// `/Rotate`, normalised to 0, 90, 180 or 270.
    pub rotate: i32,
    /// The CropBox (clipped to the MediaBox), unrotated user space.
    pub crop_box: Vec<f64>,
    /// The MediaBox.
    pub media_box: Vec<f64>,
    /// Where the PNG is (a path of the server).
    pub image: String,
}

/// Documents, versions and pages.
impl Client {
    /// `POST /api/v1/documents`: stores a PDF (streamed from a file: never whole in memory)
    /// to preview and sign later, under the file name `name` (scope `sign-document`).
    pub fn upload_document<'a>(&self, pdf: impl Into<Source<'a>>, name: Option<&str>) -> Result<UploadedDocument> {
        let mut q = Query::default();
        q.opt("name", name);
        self.call(UPLOAD_DOCUMENT, &[]).query(&q).upload(Payload::Upload(pdf.into(), "application/pdf"))
    }

    /// `GET /api/v1/documents`: a page of documents, newest first: those before `before`
    /// (a [`DocumentList::next`]), at most `limit` (1–200, default 50).
    pub fn list_documents(&self, before: Option<&str>, limit: Option<i64>) -> Result<DocumentList> {
        let mut q = Query::default();
        q.opt("before", before).opt("limit", limit);
        self.call(LIST_DOCUMENTS, &[]).query(&q).answer()
    }

    /// `GET /api/v1/documents/{id}`: a stored document's record.
    pub fn show_document(&self, id: &str) -> Result<DocumentRecord> {
        self.call(SHOW_DOCUMENT, &[id]).answer()
    }

    /// `GET /api/v1/documents/{id}/content`: a stored document's bytes into `sink`;
    /// returns their size.
    pub fn document_content<'a>(&self, id: &str, sink: impl Into<Sink<'a>>) -> Result<u64> {
        self.call(DOCUMENT_CONTENT, &[id]).download(sink.into())
    }

    /// `GET /api/v1/documents/{id}/versions`: the versions, oldest first, and the `ETag`.
    pub fn list_versions(&self, id: &str) -> Result<VersionList> {
        let answer = self.call(LIST_VERSIONS, &[id]).send(Payload::Empty)?;
        let etag = answer.header("etag");
        Ok(VersionList { versions: answer.json()?, etag })
    }

    /// `POST /api/v1/documents/{id}/versions`: adds a version after the latest, which
    /// `if_match` names (its `ETag`); `412` when another version came first.
    pub fn add_version<'a>(&self, id: &str, if_match: &str, pdf: impl Into<Source<'a>>) -> Result<VersionedDocument> {
        let answer = self
            .call(ADD_VERSION, &[id])
            .header("If-Match", Some(if_match))
            .send(Payload::Upload(pdf.into(), "application/pdf"))?;
        let etag = answer.header("etag");
        Ok(VersionedDocument { version: answer.json()?, etag })
    }

    /// `GET /api/v1/documents/{id}/pages/{n}`: a page's geometry.
    pub fn page(&self, id: &str, n: u32) -> Result<PageView> {
        self.call(PAGE, &[id, &n.to_string()]).answer()
    }

    /// `GET /api/v1/documents/{id}/pages/{n}/image`: the page as a PNG into `sink`, at `dpi`
    /// (server default when `None`); returns its size.
    pub fn page_image<'a>(&self, id: &str, n: u32, dpi: Option<f32>, sink: impl Into<Sink<'a>>) -> Result<u64> {
        let mut q = Query::default();
        q.opt("dpi", dpi);
        self.call(PAGE_IMAGE, &[id, &n.to_string()]).query(&q).download(sink.into())
    }
}
