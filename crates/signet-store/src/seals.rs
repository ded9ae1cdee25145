//! E-seals, who may use them (grants), and requests to use one once.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::{Error, Result, Store, get, new_id, now_millis};

/// An e-seal: an image and a signing identity under a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Why it was suspended or revoked.
    pub status_reason: Option<String>,
}

/// A seal as created.
#[derive(Clone, Debug)]
pub struct NewSeal {
    /// Its id (`seal_…`, from [`new_seal_id`]): known before, so that a new identity is
    /// bound to the seal from its first row.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Image.
    pub image_id: String,
    /// Identity.
    pub identity_id: String,
    /// Holder of a personal seal.
    pub owner_user_id: Option<String>,
    /// Generation parameters.
    pub spec: Option<serde_json::Value>,
    /// Usable from.
    pub valid_from: i64,
    /// Usable until.
    pub valid_until: i64,
    /// Creator.
    pub created_by: String,
}

const SEAL_COLUMNS: &str = "id, tenant_id, name, kind, status, image_id, identity_id, owner_user_id, spec, valid_from, \
                            valid_until, created_by, created_at, updated_at, status_reason";

fn seal_from_row(row: &AnyRow) -> Result<Seal> {
    let spec: Option<String> = get(row, "spec")?;
    Ok(Seal {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        kind: get(row, "kind")?,
        status: get(row, "status")?,
        image_id: get(row, "image_id")?,
        identity_id: get(row, "identity_id")?,
        owner_user_id: get(row, "owner_user_id")?,
        spec: spec.map(|s| crate::parse_json("seal spec", &s)).transpose()?,
        valid_from: get(row, "valid_from")?,
        valid_until: get(row, "valid_until")?,
        created_by: get(row, "created_by")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        status_reason: get(row, "status_reason")?,
    })
}

/// A new seal's id.
pub fn new_seal_id() -> String {
    new_id("seal")
}

/// Permission to use a seal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Usable from (Unix ms).
    pub not_before: Option<i64>,
    /// Usable until (Unix ms).
    pub not_after: Option<i64>,
    /// At most this many signings.
    pub max_uses: Option<i64>,
    /// Signings made under it.
    pub uses: i64,
    /// Each use needs an approved request.
    pub requires_approval: bool,
    /// Who granted it.
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// When it was withdrawn.
    pub revoked_at: Option<i64>,
}

/// A grant as created.
#[derive(Clone, Debug, Default)]
pub struct NewGrant {
    /// `user`, `role` or `api_key`.
    pub grantee_kind: String,
    /// Who.
    pub grantee: String,
    /// From.
    pub not_before: Option<i64>,
    /// Until.
    pub not_after: Option<i64>,
    /// Count limit.
    pub max_uses: Option<i64>,
    /// Approval per use.
    pub requires_approval: bool,
    /// Granted by.
    pub created_by: String,
}

const GRANT_COLUMNS: &str = "id, tenant_id, seal_id, grantee_kind, grantee, not_before, not_after, max_uses, uses, \
                             requires_approval, created_by, created_at, revoked_at";

fn grant_from_row(row: &AnyRow) -> Result<SealGrant> {
    Ok(SealGrant {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        seal_id: get(row, "seal_id")?,
        grantee_kind: get(row, "grantee_kind")?,
        grantee: get(row, "grantee")?,
        not_before: get(row, "not_before")?,
        not_after: get(row, "not_after")?,
        max_uses: get(row, "max_uses")?,
        uses: get(row, "uses")?,
        requires_approval: get::<i64>(row, "requires_approval")? != 0,
        created_by: get(row, "created_by")?,
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// A request to use a seal once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    pub created_at: i64,
    /// Unix milliseconds.
    pub decided_at: Option<i64>,
    /// When the approved signing was made.
    pub used_at: Option<i64>,
}

const REQUEST_COLUMNS: &str =
    "id, tenant_id, seal_id, grant_id, requester, reason, state, decided_by, decision, created_at, decided_at, used_at";

fn request_from_row(row: &AnyRow) -> Result<SealRequest> {
    Ok(SealRequest {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        seal_id: get(row, "seal_id")?,
        grant_id: get(row, "grant_id")?,
        requester: get(row, "requester")?,
        reason: get(row, "reason")?,
        state: get(row, "state")?,
        decided_by: get(row, "decided_by")?,
        decision: get(row, "decision")?,
        created_at: get(row, "created_at")?,
        decided_at: get(row, "decided_at")?,
        used_at: get(row, "used_at")?,
    })
}

impl Store {
    /// Creates a seal and marks its identity as the seal's, in one transaction; an identity
    /// that already serves another seal is refused (`Conflict`).
    pub async fn create_seal(&self, tenant_id: &str, new: &NewSeal) -> Result<Seal> {
        let id = new.id.clone();
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        sqlx::query(dynamic!(
            "INSERT INTO seals ({SEAL_COLUMNS}) VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $11, $12, $12, \
             NULL)"
        ))
        .bind(&id)
        .bind(tenant_id)
        .bind(&new.name)
        .bind(&new.kind)
        .bind(&new.image_id)
        .bind(&new.identity_id)
        .bind(&new.owner_user_id)
        .bind(new.spec.as_ref().map(|s| s.to_string()))
        .bind(new.valid_from)
        .bind(new.valid_until)
        .bind(&new.created_by)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict(format!("a seal named '{}'", new.name)),
            other => other,
        })?;
        let bound = sqlx::query(
            "UPDATE identities SET seal_id = $1 WHERE tenant_id = $2 AND id = $3 AND (seal_id IS NULL OR seal_id = $1)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(&new.identity_id)
        .execute(&mut *tx)
        .await?;
        if bound.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(Error::Conflict(format!("identity {} serving another seal; a seal", new.identity_id)));
        }
        tx.commit().await?;
        self.seal(tenant_id, &id).await
    }

    /// A tenant's seal.
    pub async fn seal(&self, tenant_id: &str, id: &str) -> Result<Seal> {
        let row = sqlx::query(dynamic!("SELECT {SEAL_COLUMNS} FROM seals WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("seal {id}")))?;
        seal_from_row(&row)
    }

    /// A tenant's seals, by name.
    pub async fn seals(&self, tenant_id: &str) -> Result<Vec<Seal>> {
        let rows = sqlx::query(dynamic!("SELECT {SEAL_COLUMNS} FROM seals WHERE tenant_id = $1 ORDER BY name"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(seal_from_row).collect()
    }

    /// Changes a seal's state; a revoked seal stays revoked (`Conflict`).
    pub async fn set_seal_status(&self, tenant_id: &str, id: &str, status: &str, reason: Option<&str>) -> Result<Seal> {
        let done = sqlx::query(
            "UPDATE seals SET status = $3, status_reason = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND \
             status <> 'revoked'",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(status)
        .bind(reason)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            let seal = self.seal(tenant_id, id).await?;
            return Err(Error::Conflict(format!("seal {} is revoked; a revoked seal", seal.id)));
        }
        self.seal(tenant_id, id).await
    }

    /// Grants the use of a seal.
    pub async fn create_grant(&self, tenant_id: &str, seal_id: &str, new: &NewGrant) -> Result<SealGrant> {
        let id = new_id("grt");
        sqlx::query(dynamic!(
            "INSERT INTO seal_grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, NULL)"
        ))
        .bind(&id)
        .bind(tenant_id)
        .bind(seal_id)
        .bind(&new.grantee_kind)
        .bind(&new.grantee)
        .bind(new.not_before)
        .bind(new.not_after)
        .bind(new.max_uses)
        .bind(i64::from(new.requires_approval))
        .bind(&new.created_by)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        self.grant(tenant_id, &id).await
    }

    /// A tenant's grant.
    pub async fn grant(&self, tenant_id: &str, id: &str) -> Result<SealGrant> {
        let row = sqlx::query(dynamic!("SELECT {GRANT_COLUMNS} FROM seal_grants WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("grant {id}")))?;
        grant_from_row(&row)
    }

    /// A seal's grants, withdrawn ones included, oldest first.
    pub async fn grants(&self, tenant_id: &str, seal_id: &str) -> Result<Vec<SealGrant>> {
        let rows = sqlx::query(dynamic!(
            "SELECT {GRANT_COLUMNS} FROM seal_grants WHERE tenant_id = $1 AND seal_id = $2 ORDER BY id"
        ))
        .bind(tenant_id)
        .bind(seal_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// Withdraws a grant.
    pub async fn revoke_grant(&self, tenant_id: &str, id: &str) -> Result<SealGrant> {
        sqlx::query("UPDATE seal_grants SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(tenant_id)
            .bind(id)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        self.grant(tenant_id, id).await
    }

    /// Counts one use of a grant, if it has uses left: `false` when the count is spent (two
    /// signings racing for the last use: one wins).
    pub async fn use_grant(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE seal_grants SET uses = uses + 1 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL AND \
             (max_uses IS NULL OR uses < max_uses)",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back a use counted by [`Store::use_grant`] when the signing then failed.
    pub async fn unuse_grant(&self, tenant_id: &str, id: &str) -> Result<()> {
        sqlx::query("UPDATE seal_grants SET uses = uses - 1 WHERE tenant_id = $1 AND id = $2 AND uses > 0")
            .bind(tenant_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Files a request to use a seal once.
    pub async fn create_seal_request(
        &self,
        tenant_id: &str,
        seal_id: &str,
        grant_id: &str,
        requester: &str,
        reason: &str,
    ) -> Result<SealRequest> {
        let id = new_id("srq");
        sqlx::query(dynamic!(
            "INSERT INTO seal_requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 'pending', NULL, NULL, $7, \
             NULL, NULL)"
        ))
        .bind(&id)
        .bind(tenant_id)
        .bind(seal_id)
        .bind(grant_id)
        .bind(requester)
        .bind(reason)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        self.seal_request(tenant_id, &id).await
    }

    /// A tenant's seal-use request.
    pub async fn seal_request(&self, tenant_id: &str, id: &str) -> Result<SealRequest> {
        let row = sqlx::query(dynamic!("SELECT {REQUEST_COLUMNS} FROM seal_requests WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("seal request {id}")))?;
        request_from_row(&row)
    }

    /// A tenant's requests, newest first, in one state or all.
    pub async fn seal_requests(&self, tenant_id: &str, state: Option<&str>) -> Result<Vec<SealRequest>> {
        let rows = sqlx::query(dynamic!(
            "SELECT {REQUEST_COLUMNS} FROM seal_requests WHERE tenant_id = $1 AND ($2 IS NULL OR state = $2) ORDER BY \
             id DESC LIMIT 1000"
        ))
        .bind(tenant_id)
        .bind(state)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(request_from_row).collect()
    }

    /// Moves a request from `from` to `to` (`approved`/`rejected` by `by`, or `used`); `false`
    /// when it was not in state `from` any more.
    pub async fn move_seal_request(
        &self,
        tenant_id: &str,
        id: &str,
        from: &str,
        to: &str,
        by: Option<&str>,
        note: Option<&str>,
    ) -> Result<bool> {
        let now = now_millis();
        let done = if to == "used" {
            sqlx::query(
                "UPDATE seal_requests SET state = $4, used_at = $5 WHERE tenant_id = $1 AND id = $2 AND state = $3",
            )
            .bind(tenant_id)
            .bind(id)
            .bind(from)
            .bind(to)
            .bind(now)
            .execute(&self.pool)
            .await?
        } else {
            sqlx::query(
                "UPDATE seal_requests SET state = $4, decided_by = $5, decision = $6, decided_at = $7 WHERE tenant_id \
                 = $1 AND id = $2 AND state = $3",
            )
            .bind(tenant_id)
            .bind(id)
            .bind(from)
            .bind(to)
            .bind(by)
            .bind(note)
            .bind(now)
            .execute(&self.pool)
            .await?
        };
        Ok(done.rows_affected() == 1)
    }

    /// Gives an approved request back after the signing it allowed failed.
    pub async fn unuse_seal_request(&self, tenant_id: &str, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE seal_requests SET state = 'approved', used_at = NULL WHERE tenant_id = $1 AND id = $2 AND state = \
             'used'",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
