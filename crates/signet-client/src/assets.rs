//! Seal images and placement templates.

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Payload, Result, Sink, Source};

/// A stored seal image.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Image {
    /// `img_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// Where its bytes are.
    pub blob_key: String,
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the bytes, hexadecimal.
    pub sha256: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The format of an image sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// PNG (with transparency).
    Png,
    /// JPEG.
    Jpeg,
}

impl ImageFormat {
    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
        }
    }
}

/// A named set of placements: one signature shown at each.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Template {
    /// `tpl_…`
    pub id: String,
    /// The owner.
    pub tenant_id: String,
    /// Unique within the tenant.
    pub name: String,
    /// The placements.
    pub placements: Vec<Placement>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// One seal placement of a template.
///
/// ```
/// // the last page, 150x80 pt from its bottom-left corner as displayed
/// let stamp = signet_client::Placement { image: Some("img_…".into()), ..signet_client::Placement::new(-1, [400.0, 40.0, 550.0, 120.0]) };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Placement {
    /// 1-based page (negative: from the end).
    pub page: i64,
    /// `[x1, y1, x2, y2]` in PDF points on the page as displayed.
    pub rect: [f64; 4],
    /// Seal image id (`img_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Appearance text lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<String>,
}

impl Placement {
    /// A placement at `rect` of `page`, without image or text.
    pub fn new(page: i64, rect: [f64; 4]) -> Placement {
        Placement { page, rect, image: None, text: Vec::new() }
    }
}

#[derive(Serialize)]
struct TemplateRequest<'a> {
    placements: &'a [Placement],
}

/// Seal images and templates.
impl Client {
    /// `GET /api/v1/images`: the tenant's seal images.
    pub fn list_images(&self) -> Result<Vec<Image>> {
        self.call(LIST_IMAGES, &[]).answer()
    }

    /// `POST /api/v1/images`: stores a seal image as it is (scope `manage`).
    pub fn upload_image<'a>(&self, image: impl Into<Source<'a>>, format: ImageFormat) -> Result<Image> {
        self.call(UPLOAD_IMAGE, &[]).upload(Payload::Upload(image.into(), format.media_type()))
    }

    /// `GET /api/v1/images/{id}`: an image's bytes into `sink`; returns their size.
    pub fn image_content<'a>(&self, id: &str, sink: impl Into<Sink<'a>>) -> Result<u64> {
        self.call(IMAGE_CONTENT, &[id]).download(sink.into())
    }

    /// `GET /api/v1/templates`.
    pub fn list_templates(&self) -> Result<Vec<Template>> {
        self.call(LIST_TEMPLATES, &[]).answer()
    }

    /// `GET /api/v1/templates/{name}`.
    pub fn show_template(&self, name: &str) -> Result<Template> {
        self.call(SHOW_TEMPLATE, &[name]).answer()
    }

    /// `PUT /api/v1/templates/{name}`: creates or replaces a template (scope `manage`).
    pub fn put_template(&self, name: &str, placements: &[Placement]) -> Result<Template> {
        self.call(PUT_TEMPLATE, &[name]).json(&TemplateRequest { placements })
    }

    /// `DELETE /api/v1/templates/{name}` (scope `manage`).
    pub fn delete_template(&self, name: &str) -> Result<()> {
        self.call(DELETE_TEMPLATE, &[name]).empty()
    }
}
