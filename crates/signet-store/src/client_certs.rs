//! TLS client certificates registered as credentials: a tenant's API clients (with scopes, as
//! API keys have), or a user's second factor at login. A certificate is known by the SHA-256
//! of its DER encoding, which is what a TLS server sees of the client (RFC 8446 §4.4.2).

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::{Error, Result, Scope, Store, get, hex, new_id, now_millis};

/// A registered client certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientCertificateRecord {
    /// `ccert_…`
    pub id: String,
    /// The tenant it authenticates to.
    pub tenant_id: String,
    /// The user whose second factor it is; none (null) for an API client's certificate.
    pub user_id: Option<String>,
    /// A label.
    pub name: String,
    /// What an API client holding it may do (none for a user's certificate).
    pub scopes: Vec<Scope>,
    /// SHA-256 of the certificate's DER encoding, lowercase hexadecimal.
    pub fingerprint: String,
    /// The subject, RFC 4514 style.
    pub subject: String,
    /// The issuer, RFC 4514 style.
    pub issuer: String,
    /// The serial number, uppercase hexadecimal.
    pub serial: String,
    /// Start of validity (Unix milliseconds).
    pub not_before: i64,
    /// End of validity (Unix milliseconds).
    pub not_after: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Set once the mapping is revoked: the certificate no longer gets in.
    pub revoked_at: Option<i64>,
    /// The certificate, DER.
    #[serde(skip)]
    pub certificate: Vec<u8>,
}

/// A certificate to register: what the server read from it, and to whom it maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClientCertificate {
    /// The tenant.
    pub tenant_id: String,
    /// The user, for a second factor.
    pub user_id: Option<String>,
    /// A label.
    pub name: String,
    /// An API client's scopes.
    pub scopes: Vec<Scope>,
    /// The certificate, DER; its fingerprint is computed here.
    pub certificate: Vec<u8>,
    /// The subject, RFC 4514 style.
    pub subject: String,
    /// The issuer, RFC 4514 style.
    pub issuer: String,
    /// The serial number, uppercase hexadecimal.
    pub serial: String,
    /// Start of validity (Unix milliseconds).
    pub not_before: i64,
    /// End of validity (Unix milliseconds).
    pub not_after: i64,
}

const COLUMNS: &str = "id, tenant_id, user_id, name, scopes, fingerprint, subject, issuer, serial, not_before, \
                       not_after, certificate, created_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ClientCertificateRecord> {
    let scopes: String = get(row, "scopes")?;
    let scopes = scopes
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(Error::Corrupt))
        .collect::<Result<Vec<Scope>>>()?;
    let certificate: String = get(row, "certificate")?;
    Ok(ClientCertificateRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        scopes,
        fingerprint: get(row, "fingerprint")?,
        subject: get(row, "subject")?,
        issuer: get(row, "issuer")?,
        serial: get(row, "serial")?,
        not_before: get(row, "not_before")?,
        not_after: get(row, "not_after")?,
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
        certificate: hex::decode(&certificate).map_err(|_| Error::Corrupt("a client certificate's DER".into()))?,
    })
}

impl Store {
    /// Registers a certificate. As an API client (`user_id` `None`): a certificate already
    /// registered as one (and not revoked), to this or another tenant, is a
    /// [`Error::Conflict`] (a certificate names one tenant). Bound to a user: the same
    /// certificate bound to that user already is the conflict; other users' bindings of it,
    /// in any tenant, are not (a binding grants nothing without the private key).
    pub async fn create_client_certificate(&self, new: &NewClientCertificate) -> Result<ClientCertificateRecord> {
        let mut scopes = new.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let record = ClientCertificateRecord {
            id: new_id("ccert"),
            tenant_id: new.tenant_id.clone(),
            user_id: new.user_id.clone(),
            name: new.name.clone(),
            scopes,
            fingerprint: crate::sha256_hex(&new.certificate),
            subject: new.subject.clone(),
            issuer: new.issuer.clone(),
            serial: new.serial.clone(),
            not_before: new.not_before,
            not_after: new.not_after,
            created_at: now_millis(),
            revoked_at: None,
            certificate: new.certificate.clone(),
        };
        let scopes_text = record.scopes.iter().map(|s| s.name()).collect::<Vec<_>>().join(" ");
        sqlx::query(dynamic!(
            "INSERT INTO client_certificates ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)"
        ))
        .bind(&record.id)
        .bind(&record.tenant_id)
        .bind(&record.user_id)
        .bind(&record.name)
        .bind(scopes_text)
        .bind(&record.fingerprint)
        .bind(&record.subject)
        .bind(&record.issuer)
        .bind(&record.serial)
        .bind(record.not_before)
        .bind(record.not_after)
        .bind(hex(&record.certificate))
        .bind(record.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => {
                Error::Conflict(format!("a registration of the certificate with fingerprint {}", record.fingerprint))
            }
            e => e,
        })?;
        Ok(record)
    }

    /// The live (not revoked) API-client registration of the certificate with this
    /// fingerprint; users' bindings of it are not API clients.
    pub async fn client_certificate_by_fingerprint(&self, fingerprint: &str) -> Result<ClientCertificateRecord> {
        let row = sqlx::query(dynamic!(
            "SELECT {COLUMNS} FROM client_certificates \
             WHERE fingerprint = $1 AND revoked_at IS NULL AND user_id IS NULL"
        ))
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound(format!("client certificate {fingerprint}")))?;
        from_row(&row)
    }

    /// The live binding of the certificate with this fingerprint to the user `user_id` (its
    /// second factor at login).
    pub async fn user_certificate_by_fingerprint(
        &self,
        user_id: &str,
        fingerprint: &str,
    ) -> Result<ClientCertificateRecord> {
        let row = sqlx::query(dynamic!(
            "SELECT {COLUMNS} FROM client_certificates \
             WHERE user_id = $1 AND fingerprint = $2 AND revoked_at IS NULL"
        ))
        .bind(user_id)
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound(format!("client certificate {fingerprint} of user {user_id}")))?;
        from_row(&row)
    }

    /// One registration by id, within a tenant when `tenant_id` is given.
    pub async fn client_certificate(&self, id: &str, tenant_id: Option<&str>) -> Result<ClientCertificateRecord> {
        let row = sqlx::query(dynamic!("SELECT {COLUMNS} FROM client_certificates WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| from_row(&r))
            .transpose()?
            .filter(|r| tenant_id.is_none_or(|t| r.tenant_id == t));
        row.ok_or_else(|| Error::NotFound(format!("client certificate {id}")))
    }

    /// The registrations of a tenant's API clients (`user_id` `None`) or of one of its users,
    /// oldest first, revoked ones included. `tenant_id` `None`: every tenant's API clients.
    pub async fn client_certificates(
        &self,
        tenant_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<ClientCertificateRecord>> {
        let rows = match (tenant_id, user_id) {
            (Some(t), Some(u)) => {
                sqlx::query(dynamic!(
                    "SELECT {COLUMNS} FROM client_certificates WHERE tenant_id = $1 AND user_id = $2 ORDER BY id"
                ))
                .bind(t)
                .bind(u)
                .fetch_all(&self.pool)
                .await?
            }
            (Some(t), None) => {
                sqlx::query(dynamic!(
                    "SELECT {COLUMNS} FROM client_certificates WHERE tenant_id = $1 AND user_id IS NULL ORDER BY id"
                ))
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            (None, _) => {
                sqlx::query(dynamic!(
                    "SELECT {COLUMNS} FROM client_certificates WHERE user_id IS NULL ORDER BY tenant_id, id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    /// Revokes a registration (the certificate no longer gets in), within a tenant when
    /// `tenant_id` is given. Revoking one already revoked changes nothing.
    pub async fn revoke_client_certificate(
        &self,
        id: &str,
        tenant_id: Option<&str>,
    ) -> Result<ClientCertificateRecord> {
        self.client_certificate(id, tenant_id).await?;
        sqlx::query("UPDATE client_certificates SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_millis())
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.client_certificate(id, tenant_id).await
    }
}
