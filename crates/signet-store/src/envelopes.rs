//! Contract envelopes: each one an aggregate stored as JSON and changed by compare-and-swap on
//! its revision, its status history, its invitation links and its signers' sessions.
//!
//! The store does not interpret an envelope's body (the server owns the workflow); it keeps
//! the columns that lists, searches and the scheduler need beside it, written in the same
//! statement, so they never disagree with the body.

use sqlx::any::AnyRow;

use crate::{Error, Result, Store, get};

/// The columns written with every version of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeWrite {
    /// The title.
    pub title: String,
    /// `draft`, `sent`, `completed`, `declined`, `voided`, `expired`.
    pub status: String,
    /// Lowercased text that `q` searches: title, parties' names and addresses.
    pub search: String,
    /// The list line (JSON).
    pub summary: String,
    /// The whole envelope (JSON).
    pub body: String,
    /// When the scheduler has something to do next.
    pub due_at: Option<i64>,
    /// The time of this change.
    pub updated_at: i64,
}

/// A stored envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEnvelope {
    /// `env_…`.
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// The status column.
    pub status: String,
    /// Changes so far; a save names the one it read.
    pub revision: i64,
    /// The whole envelope (JSON).
    pub body: String,
}

/// One line of an envelope list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeLine {
    /// `env_…`.
    pub id: String,
    /// The title.
    pub title: String,
    /// The status.
    pub status: String,
    /// The summary (JSON).
    pub summary: String,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

/// One entry of an envelope's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeEvent {
    /// `eve_…`, in order of time.
    pub id: String,
    /// When.
    pub at: i64,
    /// What happened (`created`, `sent`, `signed`…).
    pub kind: String,
    /// Who did it (a user or key id, a party id, `system`).
    pub actor: String,
    /// The party it concerns.
    pub party_id: Option<String>,
    /// More (JSON object).
    pub detail: String,
}

/// The envelope and party an invitation link opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeLink {
    /// The tenant.
    pub tenant_id: String,
    /// The envelope.
    pub envelope_id: String,
    /// The party.
    pub party_id: String,
}

/// A signer's session (see the `signer_sessions` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerSession {
    /// SHA-256 (hex) of the cookie value.
    pub id_hash: String,
    /// The tenant.
    pub tenant_id: String,
    /// The envelope.
    pub envelope_id: String,
    /// The party.
    pub party_id: String,
    /// `code`, `login` or `ready`; `embed` (`embed-prepare`) for an embed token of the
    /// signing (preparation) view not yet exchanged (see [`Store::take_embed_token`]);
    /// `prepare` for an embedded preparation view's session (`party_id` empty).
    pub stage: String,
    /// The token every changing request must repeat.
    pub csrf: String,
    /// SHA-256 (hex) of the e-mailed one-time code.
    pub code_hash: Option<String>,
    /// The code's expiry.
    pub code_expires_at: Option<i64>,
    /// When the code was sent (for the resend pause).
    pub code_sent_at: Option<i64>,
    /// Wrong codes entered since the code was sent.
    pub code_failures: i64,
    /// The client's address when opened.
    pub ip: Option<String>,
    /// The client's User-Agent when opened.
    pub user_agent: Option<String>,
    /// Opened.
    pub created_at: i64,
    /// The session ends.
    pub expires_at: i64,
    /// The origin of the page embedding the view (`https://host[:port]`), for an embedded
    /// session; `None` for one opened from an e-mailed link.
    pub embed_origin: Option<String>,
}

impl SignerSession {
    /// A session of `stage` for a party, opened `now` and ending at `expires_at`, with a
    /// fresh CSRF token, no code, no client details and no embedding.
    pub fn new(
        id_hash: String,
        tenant_id: &str,
        envelope_id: &str,
        party_id: &str,
        stage: &str,
        now: i64,
        expires_at: i64,
    ) -> SignerSession {
        SignerSession {
            id_hash,
            tenant_id: tenant_id.into(),
            envelope_id: envelope_id.into(),
            party_id: party_id.into(),
            stage: stage.into(),
            csrf: crate::random_base32(20),
            code_hash: None,
            code_expires_at: None,
            code_sent_at: None,
            code_failures: 0,
            ip: None,
            user_agent: None,
            created_at: now,
            expires_at,
            embed_origin: None,
        }
    }
}

const SESSION_COLUMNS: &str = "id_hash, tenant_id, envelope_id, party_id, stage, csrf, code_hash, code_expires_at, \
                               code_sent_at, code_failures, ip, user_agent, created_at, expires_at, embed_origin";

impl Store {
    /// Writes a new envelope (revision 1) with its first history entries.
    pub async fn insert_envelope(
        &self,
        tenant_id: &str,
        id: &str,
        created_by: &str,
        write: &EnvelopeWrite,
        events: &[EnvelopeEvent],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO envelopes (id, tenant_id, title, status, created_by, search, summary, body, revision, due_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $10)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(&write.title)
        .bind(&write.status)
        .bind(created_by)
        .bind(&write.search)
        .bind(&write.summary)
        .bind(&write.body)
        .bind(write.due_at)
        .bind(write.updated_at)
        .execute(&mut *tx)
        .await?;
        insert_events(&mut tx, tenant_id, id, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant's envelope.
    pub async fn envelope(&self, tenant_id: &str, id: &str) -> Result<StoredEnvelope> {
        let row =
            sqlx::query("SELECT id, tenant_id, status, revision, body FROM envelopes WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| Error::NotFound(format!("envelope {id}")))?;
        Ok(StoredEnvelope {
            id: get(&row, "id")?,
            tenant_id: get(&row, "tenant_id")?,
            status: get(&row, "status")?,
            revision: get(&row, "revision")?,
            body: get(&row, "body")?,
        })
    }

    /// Saves a new version of an envelope, with its history entries, if it is still at
    /// `revision`: `false` when another change came first (nothing written then).
    pub async fn save_envelope(
        &self,
        tenant_id: &str,
        id: &str,
        revision: i64,
        write: &EnvelopeWrite,
        events: &[EnvelopeEvent],
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE envelopes SET title = $3, status = $4, search = $5, summary = $6, body = $7, due_at = $8, \
             updated_at = $9, revision = revision + 1 WHERE tenant_id = $1 AND id = $2 AND revision = $10",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(&write.title)
        .bind(&write.status)
        .bind(&write.search)
        .bind(&write.summary)
        .bind(&write.body)
        .bind(write.due_at)
        .bind(write.updated_at)
        .bind(revision)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_events(&mut tx, tenant_id, id, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A page of a tenant's envelopes, newest first: those older than `before` (an envelope
    /// id), in `status` if given, whose search text contains `q` (lowercased) if given.
    pub async fn list_envelopes(
        &self,
        tenant_id: &str,
        status: Option<&str>,
        q: Option<&str>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EnvelopeLine>> {
        let mut sql = String::from(
            "SELECT id, title, status, summary, created_at, updated_at FROM envelopes WHERE tenant_id = $1",
        );
        let mut n = 1;
        let mut next = |sql: &mut String, clause: &str| {
            n += 1;
            sql.push_str(&clause.replace('?', &format!("${n}")));
        };
        if status.is_some() {
            next(&mut sql, " AND status = ?");
        }
        if q.is_some() {
            next(&mut sql, " AND search LIKE ? ESCAPE '\\'");
        }
        if before.is_some() {
            next(&mut sql, " AND id < ?");
        }
        next(&mut sql, " ORDER BY id DESC LIMIT ?");
        let pattern = q.map(|q| {
            let escaped = q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
        if let Some(s) = status {
            query = query.bind(s);
        }
        if let Some(p) = &pattern {
            query = query.bind(p.as_str());
        }
        if let Some(b) = before {
            query = query.bind(b);
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(line_from_row).collect()
    }

    /// How many envelopes a tenant has in each status.
    pub async fn count_envelopes(&self, tenant_id: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM envelopes WHERE tenant_id = $1 GROUP BY status")
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((get(r, "status")?, get(r, "n")?))).collect()
    }

    /// An envelope's history, oldest first.
    pub async fn envelope_history(&self, tenant_id: &str, id: &str) -> Result<Vec<EnvelopeEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, kind, actor, party_id, detail FROM envelope_events WHERE tenant_id = $1 AND envelope_id \
             = $2 ORDER BY id",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EnvelopeEvent {
                    id: get(r, "id")?,
                    at: get(r, "at")?,
                    kind: get(r, "kind")?,
                    actor: get(r, "actor")?,
                    party_id: get(r, "party_id")?,
                    detail: get(r, "detail")?,
                })
            })
            .collect()
    }

    /// Envelopes whose next scheduled step (expiry, a reminder) is due at `now`: (tenant,
    /// id), at most `limit`, earliest first.
    pub async fn due_envelopes(&self, now: i64, limit: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT tenant_id, id FROM envelopes WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((get(r, "tenant_id")?, get(r, "id")?))).collect()
    }

    /// The earliest scheduled step of any envelope.
    pub async fn next_envelope_due(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(due_at) AS due FROM envelopes WHERE due_at IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        get(&row, "due")
    }

    /// Records an invitation link (by its token's hash).
    pub async fn insert_envelope_link(&self, token_hash: &str, link: &EnvelopeLink, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO envelope_links (token_hash, tenant_id, envelope_id, party_id, created_at) VALUES ($1, $2, $3, \
             $4, $5)",
        )
        .bind(token_hash)
        .bind(&link.tenant_id)
        .bind(&link.envelope_id)
        .bind(&link.party_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The envelope and party a link's token (its hash) opens.
    pub async fn envelope_link(&self, token_hash: &str) -> Result<Option<EnvelopeLink>> {
        let row = sqlx::query("SELECT tenant_id, envelope_id, party_id FROM envelope_links WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(EnvelopeLink {
                tenant_id: get(&r, "tenant_id")?,
                envelope_id: get(&r, "envelope_id")?,
                party_id: get(&r, "party_id")?,
            })
        })
        .transpose()
    }

    /// Writes a signer session, new or changed (a changed one keeps its hash).
    pub async fn put_signer_session(&self, s: &SignerSession) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM signer_sessions WHERE id_hash = $1").bind(&s.id_hash).execute(&mut *tx).await?;
        sqlx::query(dynamic!(
            "INSERT INTO signer_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15)"
        ))
        .bind(&s.id_hash)
        .bind(&s.tenant_id)
        .bind(&s.envelope_id)
        .bind(&s.party_id)
        .bind(&s.stage)
        .bind(&s.csrf)
        .bind(s.code_hash.as_deref())
        .bind(s.code_expires_at)
        .bind(s.code_sent_at)
        .bind(s.code_failures)
        .bind(s.ip.as_deref())
        .bind(s.user_agent.as_deref())
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.embed_origin.as_deref())
        .execute(&mut *tx)
        .await?;
        // expired sessions go as new ones come
        sqlx::query("DELETE FROM signer_sessions WHERE expires_at < $1")
            .bind(s.created_at.min(crate::now_millis()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A signer session that has not expired at `now`.
    pub async fn signer_session(&self, id_hash: &str, now: i64) -> Result<Option<SignerSession>> {
        let row = sqlx::query(dynamic!(
            "SELECT {SESSION_COLUMNS} FROM signer_sessions WHERE id_hash = $1 AND expires_at > $2"
        ))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Takes the embed token whose hash is `id_hash` (a session of `stage`) if it is still
    /// valid at `now`: removes it and returns it, at most once however many ask at the same
    /// time.
    pub async fn take_embed_token(&self, id_hash: &str, stage: &str, now: i64) -> Result<Option<SignerSession>> {
        let row = sqlx::query(dynamic!(
            "DELETE FROM signer_sessions WHERE id_hash = $1 AND stage = $2 AND expires_at > $3 \
             RETURNING {SESSION_COLUMNS}"
        ))
        .bind(id_hash)
        .bind(stage)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }
}

fn session_from_row(r: &AnyRow) -> Result<SignerSession> {
    Ok(SignerSession {
        id_hash: get(r, "id_hash")?,
        tenant_id: get(r, "tenant_id")?,
        envelope_id: get(r, "envelope_id")?,
        party_id: get(r, "party_id")?,
        stage: get(r, "stage")?,
        csrf: get(r, "csrf")?,
        code_hash: get(r, "code_hash")?,
        code_expires_at: get(r, "code_expires_at")?,
        code_sent_at: get(r, "code_sent_at")?,
        code_failures: get(r, "code_failures")?,
        ip: get(r, "ip")?,
        user_agent: get(r, "user_agent")?,
        created_at: get(r, "created_at")?,
        expires_at: get(r, "expires_at")?,
        embed_origin: get(r, "embed_origin")?,
    })
}

impl Store {
    /// Takes one try at the session's code, before the code is compared, if it has had fewer
    /// than `max` and the code is still valid at `now`: atomically, so that guesses sent in
    /// parallel cannot exceed the tries. `false`: no try left (or no valid code).
    pub async fn take_code_try(&self, id_hash: &str, max: i64, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE signer_sessions SET code_failures = code_failures + 1 WHERE id_hash = $1 AND code_failures < $2 \
             AND code_hash IS NOT NULL AND code_expires_at > $3",
        )
        .bind(id_hash)
        .bind(max)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many signer sessions `party_id` opened since `since` (links opened, codes mailed).
    pub async fn signer_sessions_since(&self, party_id: &str, since: i64) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM signer_sessions WHERE party_id = $1 AND created_at >= $2")
            .bind(party_id)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        get(&row, "n")
    }

    /// Adds entries to an envelope's history without changing the envelope (a link opened, a
    /// code sent): nothing to compare and swap, so they never make a change of the envelope
    /// itself fail.
    pub async fn append_envelope_events(&self, tenant_id: &str, id: &str, events: &[EnvelopeEvent]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_events(&mut tx, tenant_id, id, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a signer session.
    pub async fn delete_signer_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM signer_sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }
}

async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant_id: &str,
    envelope_id: &str,
    events: &[EnvelopeEvent],
) -> Result<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO envelope_events (id, envelope_id, tenant_id, at, kind, actor, party_id, detail) VALUES ($1, \
             $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.id)
        .bind(envelope_id)
        .bind(tenant_id)
        .bind(e.at)
        .bind(&e.kind)
        .bind(&e.actor)
        .bind(e.party_id.as_deref())
        .bind(&e.detail)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn line_from_row(r: &AnyRow) -> Result<EnvelopeLine> {
    Ok(EnvelopeLine {
        id: get(r, "id")?,
        title: get(r, "title")?,
        status: get(r, "status")?,
        summary: get(r, "summary")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}
