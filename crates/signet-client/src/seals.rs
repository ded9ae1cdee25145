//! E-seals, their grants and seal-use requests.

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Image, ImageFormat, Payload, Query, Result, Role, Sink, Source};

/// An e-seal: an image and a signing identity under a name.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Seal {
    /// `seal_…`
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Unique within the tenant; the certificate's subject names it.
    pub name: String,
    /// `company`, `contract`, `finance`, `invoice`, `legal_representative` or `personal`.
    pub kind: String,
    /// `active`, `suspended` or `revoked` (final).
    pub status: String,
    /// Why it was suspended or revoked.
    pub status_reason: Option<String>,
    /// The seal image.
    pub image_id: String,
    /// The identity that signs for it.
    pub identity_id: String,
    /// For a personal seal: its holder.
    pub owner_user_id: Option<String>,
    /// How the image was generated (JSON), when it was.
    pub spec: Option<serde_json::Value>,
    /// Usable from (Unix ms).
    pub valid_from: i64,
    /// Usable until (Unix ms): the certificate's end.
    pub valid_until: i64,
    /// Who created it.
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// A new seal: its image generated (`generate`) or uploaded before (`image_id`), and its
/// certificate.
///
/// ```
/// use signet_client::{CreateSeal, GenerateSpec};
///
/// let seal = CreateSeal {
///     generate: Some(GenerateSpec { horizontal: Some("合同专用章".into()), ..GenerateSpec::new("round", "艾克米有限公司") }),
///     ..CreateSeal::new("ACME Ltd contract seal", "contract")
/// };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateSeal {
    /// Unique within the tenant; the certificate's common name.
    pub name: String,
    /// `company`, `contract`, `finance`, `invoice`, `legal_representative` or `personal`.
    pub kind: String,
    /// Draw the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate: Option<GenerateSpec>,
    /// …or use an image uploaded with [`upload_seal_image`](Client::upload_seal_image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// A personal seal's holder (`usr_…`): they may use it without a grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_user_id: Option<String>,
    /// The certificate.
    pub certificate: SealCertificate,
}

impl CreateSeal {
    /// A seal named `name` of kind `kind`; give its image.
    pub fn new(name: impl Into<String>, kind: impl Into<String>) -> CreateSeal {
        CreateSeal { name: name.into(), kind: kind.into(), ..Default::default() }
    }
}

/// How a seal image is drawn.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GenerateSpec {
    /// `round` (company seals), `oval` or `square` (personal seals).
    pub shape: String,
    /// Round/oval: the name curved along the top; square: 2 or 4 characters.
    pub text: String,
    /// Round/oval: the line under the centre (e.g. 合同专用章).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizontal: Option<String>,
    /// Round/oval: the small code along the bottom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottom_code: Option<String>,
    /// Round: a star in the centre (default yes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub star: Option<bool>,
    /// Width in pixels (default 480).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
}

impl GenerateSpec {
    /// A seal of `shape` with `text`.
    pub fn new(shape: impl Into<String>, text: impl Into<String>) -> GenerateSpec {
        GenerateSpec { shape: shape.into(), text: text.into(), ..Default::default() }
    }
}

/// The certificate of a new seal (everything by default: a P-256 key, the tenant's name as
/// organisation).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SealCertificate {
    /// Instead of a new certificate: an identity of the tenant imported before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Subject organisation (default: the tenant's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Subject organisation identifier (e.g. a unified social credit code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_identifier: Option<String>,
    /// Subject country (two letters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `p-256` (default), `p-384`, `rsa-2048`, `rsa-3072`, `rsa-4096`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Lifetime in days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity_days: Option<i64>,
}

/// Revoking a seal: its certificate is revoked at the CA.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RevokeSeal {
    /// RFC 5280 reason: `cessationOfOperation` (default), `keyCompromise`, `superseded`,
    /// `affiliationChanged`, `privilegeWithdrawn`, `unspecified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A note for the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Permission to use a seal.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SealGrant {
    /// `grt_…`
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The seal.
    pub seal_id: String,
    /// `user`, `role` or `api_key`.
    pub grantee_kind: String,
    /// The user's id, the role's name or the key's id.
    pub grantee: String,
    /// Signings made under it.
    pub uses: i64,
    /// At most this many signings.
    pub max_uses: Option<i64>,
    /// Usable from (Unix ms).
    pub not_before: Option<i64>,
    /// Usable until (Unix ms).
    pub not_after: Option<i64>,
    /// Each use needs an approved request.
    pub requires_approval: bool,
    /// When it was withdrawn.
    pub revoked_at: Option<i64>,
    /// Who granted it.
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A grant: exactly one of `user_id`, `role`, `api_key_id`.
///
/// ```
/// // a system signs with the seal unattended, 1,000 times
/// let grant = signet_client::CreateGrant { max_uses: Some(1000), ..signet_client::CreateGrant::api_key("key_…") };
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateGrant {
    /// A user (`usr_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Everyone holding a role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// An API key (`key_…`): unattended signing by that system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    /// At most this many signings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i64>,
    /// Usable from (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// Usable until (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    /// Each use needs an approved seal-use request.
    pub requires_approval: bool,
}

impl CreateGrant {
    /// A grant to a user.
    pub fn user(id: impl Into<String>) -> CreateGrant {
        CreateGrant { user_id: Some(id.into()), ..Default::default() }
    }

    /// A grant to everyone holding `role`.
    pub fn role(role: Role) -> CreateGrant {
        CreateGrant { role: Some(role), ..Default::default() }
    }

    /// A grant to an API key.
    pub fn api_key(id: impl Into<String>) -> CreateGrant {
        CreateGrant { api_key_id: Some(id.into()), ..Default::default() }
    }
}

/// A request to use a seal once.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SealRequest {
    /// `srq_…`
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The seal.
    pub seal_id: String,
    /// The grant it is made under.
    pub grant_id: String,
    /// Who asks (user or key id).
    pub requester: String,
    /// Why.
    pub reason: String,
    /// `pending`, `approved`, `rejected` or `used`.
    pub state: String,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The approver's note.
    pub decision: Option<String>,
    /// Unix milliseconds.
    pub decided_at: Option<i64>,
    /// When the approved signing was made.
    pub used_at: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
}

#[derive(Serialize)]
struct StatusChange<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct Reason<'a> {
    reason: &'a str,
}

#[derive(Serialize)]
struct Decision<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// Seals, grants and seal-use requests.
impl Client {
    /// `GET /api/v1/seals`.
    pub fn list_seals(&self) -> Result<Vec<Seal>> {
        self.call(LIST_SEALS, &[]).answer()
    }

    /// `POST /api/v1/seals`: a seal with its own certificate from the built-in CA.
    pub fn create_seal(&self, seal: &CreateSeal) -> Result<Seal> {
        self.call(CREATE_SEAL, &[]).json(seal)
    }

    /// `GET /api/v1/seals/{id}`.
    pub fn show_seal(&self, id: &str) -> Result<Seal> {
        self.call(SHOW_SEAL, &[id]).answer()
    }

    /// `PATCH /api/v1/seals/{id}`: suspends (`status` = `suspended`) or reactivates
    /// (`active`) a seal.
    pub fn update_seal(&self, id: &str, status: &str, reason: Option<&str>) -> Result<Seal> {
        self.call(UPDATE_SEAL, &[id]).json(&StatusChange { status, reason })
    }

    /// `POST /api/v1/seals/{id}/revoke`: for good; OCSP answers `revoked` from then on.
    pub fn revoke_seal(&self, id: &str, revocation: &RevokeSeal) -> Result<Seal> {
        self.call(REVOKE_SEAL, &[id]).json(revocation)
    }

    /// `GET /api/v1/seals/{id}/image`: the seal's PNG into `sink`; returns its size.
    pub fn seal_image<'a>(&self, id: &str, sink: impl Into<Sink<'a>>) -> Result<u64> {
        self.call(SEAL_IMAGE, &[id]).download(sink.into())
    }

    /// `POST /api/v1/seals/preview`: the PNG `spec` would draw, into `sink`.
    pub fn preview_seal<'a>(&self, spec: &GenerateSpec, sink: impl Into<Sink<'a>>) -> Result<u64> {
        self.call(PREVIEW_SEAL, &[]).send_json(spec)?.download(sink.into())
    }

    /// `POST /api/v1/seals/images`: a scanned seal, its near-white background made
    /// transparent, for [`CreateSeal::image_id`].
    pub fn upload_seal_image<'a>(&self, image: impl Into<Source<'a>>, format: ImageFormat) -> Result<Image> {
        self.call(UPLOAD_SEAL_IMAGE, &[]).upload(Payload::Upload(image.into(), format.media_type()))
    }

    /// `GET /api/v1/seals/{id}/grants`.
    pub fn list_seal_grants(&self, seal_id: &str) -> Result<Vec<SealGrant>> {
        self.call(LIST_SEAL_GRANTS, &[seal_id]).answer()
    }

    /// `POST /api/v1/seals/{id}/grants`: allows a user, a role or an API key to use a seal.
    pub fn grant_seal(&self, seal_id: &str, grant: &CreateGrant) -> Result<SealGrant> {
        self.call(GRANT_SEAL, &[seal_id]).json(grant)
    }

    /// `DELETE /api/v1/seals/{id}/grants/{grant}`: withdraws a grant.
    pub fn revoke_seal_grant(&self, seal_id: &str, grant_id: &str) -> Result<SealGrant> {
        self.call(REVOKE_SEAL_GRANT, &[seal_id, grant_id]).answer()
    }

    /// `POST /api/v1/seals/{id}/requests`: asks to use a seal once, under a grant that
    /// requires approval.
    pub fn request_seal_use(&self, seal_id: &str, reason: &str) -> Result<SealRequest> {
        self.call(REQUEST_SEAL_USE, &[seal_id]).json(&Reason { reason })
    }

    /// `GET /api/v1/seal-requests`: those in `state` (`pending`, `approved`, `rejected`,
    /// `used`), or all.
    pub fn list_seal_requests(&self, state: Option<&str>) -> Result<Vec<SealRequest>> {
        let mut q = Query::default();
        q.opt("state", state);
        self.call(LIST_SEAL_REQUESTS, &[]).query(&q).answer()
    }

    /// `POST /api/v1/seal-requests/{id}/approve`.
    pub fn approve_seal_request(&self, id: &str, note: Option<&str>) -> Result<SealRequest> {
        self.call(APPROVE_SEAL_REQUEST, &[id]).json(&Decision { note })
    }

    /// `POST /api/v1/seal-requests/{id}/reject`.
    pub fn reject_seal_request(&self, id: &str, note: Option<&str>) -> Result<SealRequest> {
        self.call(REJECT_SEAL_REQUEST, &[id]).json(&Decision { note })
    }
}
