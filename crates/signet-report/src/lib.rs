#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

mod error;
mod font;
mod labels;
mod layout;
mod pdf;
mod render;
mod time;

pub use error::Error;
pub use render::render;

/// What a completion certificate shows: one envelope, its parties, its document versions and
/// its event log. The server stores it as JSON (serde), so a certificate can be rendered
/// again, byte for byte, from the stored value.
///
/// Times are Unix milliseconds (UTC); they are printed in the zone given by
/// [`utc_offset_minutes`](Self::utc_offset_minutes) with the offset written after them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionReport {
    /// The envelope's title, as its sender wrote it (any script).
    pub title: String,
    /// The envelope's identifier.
    pub envelope_id: String,
    /// The tenant (organisation) the envelope belongs to, by name.
    pub tenant: String,
    /// The file name of the document that was signed.
    pub document_name: String,
    /// SHA-256 of the document as it was sent out, 64 hexadecimal digits (either case).
    pub original_sha256: String,
    /// SHA-256 of the completed document (every signature applied), 64 hexadecimal digits.
    pub final_sha256: String,
    /// When the envelope was created, Unix milliseconds.
    pub created_at: i64,
    /// When the last party acted and the envelope completed, Unix milliseconds. Also the
    /// PDF's creation date, so that equal reports give equal files.
    pub completed_at: i64,
    /// Everyone the envelope went to, in routing order.
    #[serde(default)]
    pub parties: Vec<ReportParty>,
    /// The envelope's entries of the signing log, in log order (printed as given).
    #[serde(default)]
    pub events: Vec<ReportEvent>,
    /// The document's versions, from the original to the completed one.
    #[serde(default)]
    pub versions: Vec<ReportVersion>,
    /// The language of the certificate's own labels. Names, titles and event texts are
    /// printed as given, in whatever script they are.
    #[serde(default)]
    pub language: Language,
    /// The time zone times are printed in, as minutes east of UTC (480 for China Standard
    /// Time); at most 18 hours either way. 0 prints UTC.
    #[serde(default)]
    pub utc_offset_minutes: i32,
}

/// One recipient of the envelope and the evidence of what they did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportParty {
    /// The person's name (any script).
    pub name: String,
    /// The address the envelope was sent to.
    pub email: String,
    /// What the party was asked to do.
    pub role: PartyRole,
    /// The organisation the party acted for, if any.
    #[serde(default)]
    pub organisation: Option<String>,
    /// Where the party stands.
    pub status: PartyStatus,
    /// When the party signed or approved, Unix milliseconds.
    #[serde(default)]
    pub signed_at: Option<i64>,
    /// The IP address the party acted from.
    #[serde(default)]
    pub ip: Option<String>,
    /// The `User-Agent` of the party's browser or client.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// How the party was authenticated ("email one-time code", "password + TOTP", …), worded
    /// by the caller in the report's language: it is printed as given.
    pub auth_method: String,
    /// The subject of the certificate the party's signature was made with.
    #[serde(default)]
    pub certificate_subject: Option<String>,
    /// The serial number of that certificate (hexadecimal, as the caller formats it).
    #[serde(default)]
    pub certificate_serial: Option<String>,
    /// The name of the signature field the party signed.
    #[serde(default)]
    pub signature_field: Option<String>,
}

/// What a party was asked to do with the envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PartyRole {
    /// Signs the document.
    Signer,
    /// Approves the document without signing it.
    Approver,
    /// Receives a copy of the completed document.
    Copy,
}

/// Where a party stands (`pending`, `viewed`, `signed`, `approved`, `declined`,
/// `delivered`, `skipped` in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PartyStatus {
    /// Not acted yet (waiting for its turn, or invited).
    Pending,
    /// Opened the envelope but has not acted.
    Viewed,
    /// Signed.
    Signed,
    /// Approved.
    Approved,
    /// Refused to sign or approve.
    Declined,
    /// A copy recipient who was sent the completed document.
    Delivered,
    /// Passed over: the envelope went on without the party.
    Skipped,
}

/// One entry of the tamper-evident signing log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEvent {
    /// When it happened, Unix milliseconds.
    pub at: i64,
    /// Who did it (a person, an API key, the system).
    pub actor: String,
    /// What was done ("sent", "viewed", "signed", …), as worded by the caller.
    pub action: String,
    /// Anything more (a reason, a field name, a delivery address).
    #[serde(default)]
    pub detail: String,
    /// The entry's hash in the log's chain, hexadecimal.
    #[serde(default)]
    pub entry_hash: Option<String>,
}

/// One stored version of the envelope's document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportVersion {
    /// The version number, 1 for the original.
    pub version: u32,
    /// The stored document's identifier.
    pub document_id: String,
    /// SHA-256 of that version's bytes, 64 hexadecimal digits.
    pub sha256: String,
    /// When the version was stored, Unix milliseconds.
    pub created_at: i64,
}

/// The language of a certificate's labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}
