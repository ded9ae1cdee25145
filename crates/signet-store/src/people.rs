//! Users, their roles and sessions, and each tenant's settings (MFA, single sign-on).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::{Error, Result, Store, get, now_millis, parse_json, to_json};

/// What a user may do within a tenant. Seal rights are split three ways (who manages seals,
/// who uses them, who reads what was done), beside administering the tenant and signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Users, API keys, webhooks, settings.
    TenantAdmin,
    /// Creates and manages seals and who may use them; decides seal-use requests.
    SealAdmin,
    /// Uses the seals authorized to them.
    SealUser,
    /// Reads the signing log and usage; changes nothing.
    Auditor,
    /// Signs documents with identities and personal seals of their own.
    Signer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [Role::TenantAdmin, Role::SealAdmin, Role::SealUser, Role::Auditor, Role::Signer];

    /// The name used in the API.
    pub fn name(self) -> &'static str {
        match self {
            Role::TenantAdmin => "tenant_admin",
            Role::SealAdmin => "seal_admin",
            Role::SealUser => "seal_user",
            Role::Auditor => "auditor",
            Role::Signer => "signer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| {
            Error::Corrupt(format!("'{s}' is not a role (tenant_admin, seal_admin, seal_user, auditor, signer)"))
        })
    }
}

/// A person of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// `usr_…`
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Login name, unique within the tenant.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// What they may do.
    pub roles: Vec<Role>,
    /// `active` or `disabled`.
    pub status: String,
    /// Whether TOTP is set up and asked at login.
    pub mfa_enabled: bool,
    /// Whether a password is set (users of single sign-on may have none).
    pub has_password: bool,
    /// `issuer|subject` of the identity provider's account, for single sign-on.
    pub external_subject: Option<String>,
    /// Locked after failed logins until then (Unix ms).
    pub locked_until: Option<i64>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
    /// Argon2id PHC string.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// The TOTP seed, sealed under the master key (set during enrolment, before it is enabled).
    #[serde(skip)]
    pub totp_secret: Option<String>,
    /// The last TOTP time step accepted (a code is good once).
    #[serde(skip)]
    pub totp_last_step: Option<i64>,
    /// SHA-256 of the unused recovery codes.
    #[serde(skip)]
    pub recovery_codes: Vec<String>,
    /// Failed logins since the last success.
    #[serde(skip)]
    pub failed_logins: i64,
}

impl User {
    /// Whether the user holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

const USER_COLUMNS: &str = "id, tenant_id, username, display_name, email, roles, status, password_hash, totp_secret, \
                            totp_enabled, totp_last_step, recovery_codes, external_subject, failed_logins, locked_until, \
                            created_at, updated_at";

fn user_from_row(row: &AnyRow) -> Result<User> {
    let roles: String = get(row, "roles")?;
    let roles: Vec<String> = parse_json("user roles", &roles)?;
    let codes: Option<String> = get(row, "recovery_codes")?;
    let password_hash: Option<String> = get(row, "password_hash")?;
    Ok(User {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        username: get(row, "username")?,
        display_name: get(row, "display_name")?,
        email: get(row, "email")?,
        roles: roles.iter().map(|r| r.parse()).collect::<Result<_>>()?,
        status: get(row, "status")?,
        mfa_enabled: get::<i64>(row, "totp_enabled")? != 0,
        has_password: password_hash.is_some(),
        external_subject: get(row, "external_subject")?,
        locked_until: get(row, "locked_until")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        password_hash,
        totp_secret: get(row, "totp_secret")?,
        totp_last_step: get(row, "totp_last_step")?,
        recovery_codes: match codes {
            Some(c) => parse_json("recovery codes", &c)?,
            None => Vec::new(),
        },
        failed_logins: get(row, "failed_logins")?,
    })
}

/// A login session: `stage` says how far the login got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `ses_…`: the public half of the cookie.
    pub id: String,
    /// SHA-256 of the secret half, hexadecimal.
    pub secret_hash: String,
    /// The user.
    pub user_id: String,
    /// Their tenant.
    pub tenant_id: String,
    /// `mfa` (password checked, TOTP to come), `enrol` (MFA must be set up first) or `full`.
    pub stage: String,
    /// The token state-changing requests send in `X-CSRF-Token`.
    pub csrf: String,
    /// `password` or `sso`.
    pub via: String,
    /// Where the login came from.
    pub ip: Option<String>,
    /// The browser's `User-Agent`.
    pub user_agent: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// Set at logout.
    pub revoked_at: Option<i64>,
}

const SESSION_COLUMNS: &str =
    "id, secret_hash, user_id, tenant_id, stage, csrf, via, ip, user_agent, created_at, expires_at, revoked_at";

fn session_from_row(row: &AnyRow) -> Result<Session> {
    Ok(Session {
        id: get(row, "id")?,
        secret_hash: get(row, "secret_hash")?,
        user_id: get(row, "user_id")?,
        tenant_id: get(row, "tenant_id")?,
        stage: get(row, "stage")?,
        csrf: get(row, "csrf")?,
        via: get(row, "via")?,
        ip: get(row, "ip")?,
        user_agent: get(row, "user_agent")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

/// A tenant's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Users holding any of these roles must use TOTP: until they set it up, their login
    /// only lets them enrol.
    #[serde(default)]
    pub mfa_required_roles: Vec<Role>,
    /// Single sign-on with the organisation's identity provider.
    #[serde(default)]
    pub sso: Option<SsoSettings>,
    /// Origins (`https://host[:port]`) of the document systems' pages that may embed the
    /// signing view (CSP `frame-ancestors`); empty: nobody may embed it.
    #[serde(default)]
    pub embed_origins: Vec<String>,
}

/// OpenID Connect / JWT single sign-on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    /// The `iss` of the tokens.
    pub issuer: String,
    /// Accepted `aud` values (the client ids of Signet at the provider).
    pub audiences: Vec<String>,
    /// Where the provider publishes its keys (JWKS).
    pub jwks_url: String,
    /// The claim naming the login (default `preferred_username`, else `email`, else `sub`).
    #[serde(default)]
    pub username_claim: Option<String>,
    /// The claim holding the user's groups or roles (a string or a list), e.g. `groups`.
    #[serde(default)]
    pub roles_claim: Option<String>,
    /// Claim value → Signet role; values not listed give no role.
    #[serde(default)]
    pub role_map: std::collections::BTreeMap<String, Role>,
    /// Create a user at their first login (else only existing users, matched by username,
    /// may sign in).
    #[serde(default)]
    pub create_users: bool,
    /// Roles of users created at first login when the token maps to none.
    #[serde(default)]
    pub default_roles: Vec<Role>,
}

/// A user as created.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Name shown.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    /// `issuer|subject`, for single sign-on.
    pub external_subject: Option<String>,
}

impl Store {
    /// Creates a user.
    pub async fn create_user(&self, tenant_id: &str, new: &NewUser) -> Result<User> {
        let id = crate::new_id("usr");
        let now = now_millis();
        let roles: Vec<&str> = new.roles.iter().map(|r| r.name()).collect();
        sqlx::query(dynamic!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, NULL, 0, NULL, NULL, $8, 0, \
             NULL, $9, $9)"
        ))
        .bind(&id)
        .bind(tenant_id)
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(&new.email)
        .bind(to_json(&roles))
        .bind(&new.password_hash)
        .bind(&new.external_subject)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict(format!("a user named '{}'", new.username)),
            other => other,
        })?;
        self.user(tenant_id, &id).await
    }

    /// A tenant's user by id.
    pub async fn user(&self, tenant_id: &str, id: &str) -> Result<User> {
        let row = sqlx::query(dynamic!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))?;
        user_from_row(&row)
    }

    /// A tenant's user by login name.
    pub async fn user_by_name(&self, tenant_id: &str, username: &str) -> Result<User> {
        let row = sqlx::query(dynamic!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username = $2"))
            .bind(tenant_id)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user '{username}'")))?;
        user_from_row(&row)
    }

    /// A tenant's user by their identity provider account.
    pub async fn user_by_subject(&self, tenant_id: &str, subject: &str) -> Result<Option<User>> {
        let row =
            sqlx::query(dynamic!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND external_subject = $2"))
                .bind(tenant_id)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// A tenant's users, by login name.
    pub async fn users(&self, tenant_id: &str) -> Result<Vec<User>> {
        let rows = sqlx::query(dynamic!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY username"))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Saves a user's changeable fields (everything but id, tenant, username, created_at).
    pub async fn save_user(&self, user: &User) -> Result<User> {
        let roles: Vec<&str> = user.roles.iter().map(|r| r.name()).collect();
        let done = sqlx::query(
            "UPDATE users SET display_name = $3, email = $4, roles = $5, status = $6, password_hash = $7, \
             totp_secret = $8, totp_enabled = $9, totp_last_step = $10, recovery_codes = $11, external_subject = $12, \
             failed_logins = $13, locked_until = $14, updated_at = $15 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&user.tenant_id)
        .bind(&user.id)
        .bind(&user.display_name)
        .bind(&user.email)
        .bind(to_json(&roles))
        .bind(&user.status)
        .bind(&user.password_hash)
        .bind(&user.totp_secret)
        .bind(i64::from(user.mfa_enabled))
        .bind(user.totp_last_step)
        .bind(if user.recovery_codes.is_empty() { None } else { Some(to_json(&user.recovery_codes)) })
        .bind(&user.external_subject)
        .bind(user.failed_logins)
        .bind(user.locked_until)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("user {}", user.id)));
        }
        self.user(&user.tenant_id, &user.id).await
    }

    /// Replaces a user's roles alone (other fields may be changing meanwhile).
    pub async fn set_user_roles(&self, tenant_id: &str, id: &str, roles: &[Role]) -> Result<User> {
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        sqlx::query("UPDATE users SET roles = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(to_json(&names))
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        self.user(tenant_id, id).await
    }

    /// Replaces a user's password hash alone.
    pub async fn set_password_hash(&self, tenant_id: &str, id: &str, phc: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .bind(phc)
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Spends a recovery code: the stored list moves from `before` to `after` only if it is
    /// still `before` (two logins with one code: one wins).
    pub async fn spend_recovery_code(&self, id: &str, before: &[String], after: &[String]) -> Result<bool> {
        let after = if after.is_empty() { None } else { Some(to_json(&after)) };
        let done = sqlx::query("UPDATE users SET recovery_codes = $3 WHERE id = $1 AND recovery_codes = $2")
            .bind(id)
            .bind(to_json(&before))
            .bind(after)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Accepts a TOTP time step once: succeeds only when `step` is later than the last one
    /// accepted for the user (two logins racing with one code: one wins).
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes a login attempt (a password or a second-factor code), counted as failed until
    /// [`Store::login_succeeded`] or [`Store::release_login_attempt`] says otherwise: the
    /// attempt that reaches `lock_after` locks the user until `lock_until`. `None` when the user
    /// is locked at `now`. Taking the attempt before checking it (one conditional UPDATE) keeps
    /// concurrent guesses from all passing a lock check made before any of them failed.
    pub async fn reserve_login_attempt(
        &self,
        user_id: &str,
        now: i64,
        lock_after: i64,
        lock_until: i64,
    ) -> Result<Option<i64>> {
        // an expired lock starts the count again
        let done = sqlx::query(
            "UPDATE users SET failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END, \
             locked_until = CASE WHEN locked_until IS NULL AND failed_logins + 1 >= $3 THEN $4 ELSE NULL END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(user_id)
        .bind(now)
        .bind(lock_after)
        .bind(lock_until)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let row =
            sqlx::query("SELECT failed_logins FROM users WHERE id = $1").bind(user_id).fetch_one(&self.pool).await?;
        Ok(Some(get(&row, "failed_logins")?))
    }

    /// Gives back an attempt taken by [`Store::reserve_login_attempt`] that succeeded but
    /// does not end the login (a right password with a second factor to come).
    pub async fn release_login_attempt(&self, user_id: &str, lock_after: i64) -> Result<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = CASE WHEN failed_logins > 0 THEN failed_logins - 1 ELSE 0 END, \
             locked_until = CASE WHEN failed_logins - 1 >= $2 THEN locked_until ELSE NULL END WHERE id = $1",
        )
        .bind(user_id)
        .bind(lock_after)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Clears the failed-login count after a success.
    pub async fn login_succeeded(&self, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a new session.
    pub async fn insert_session(&self, s: &Session) -> Result<()> {
        sqlx::query(dynamic!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&s.id)
        .bind(&s.secret_hash)
        .bind(&s.user_id)
        .bind(&s.tenant_id)
        .bind(&s.stage)
        .bind(&s.csrf)
        .bind(&s.via)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.revoked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session by id.
    pub async fn session(&self, id: &str) -> Result<Session> {
        let row = sqlx::query(dynamic!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("session {id}")))?;
        session_from_row(&row)
    }

    /// Moves a session to another stage (after MFA, or after enrolment).
    pub async fn set_session_stage(&self, id: &str, stage: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET stage = $2 WHERE id = $1").bind(id).bind(stage).execute(&self.pool).await?;
        Ok(())
    }

    /// Ends a session, or every session of a user when `id` is `None`.
    pub async fn revoke_sessions(&self, user_id: &str, id: Option<&str>) -> Result<()> {
        let now = now_millis();
        match id {
            Some(id) => {
                sqlx::query("UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(user_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(user_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(())
    }

    /// Ends every session of a user but `keep`.
    pub async fn revoke_sessions_except(&self, user_id: &str, keep: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A tenant by name.
    pub async fn tenant_by_name(&self, name: &str) -> Result<crate::Tenant> {
        let row = sqlx::query("SELECT id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("tenant '{name}'")))?;
        self.tenant(&get::<String>(&row, "id")?).await
    }

    /// A tenant's settings.
    pub async fn tenant_settings(&self, tenant_id: &str) -> Result<TenantSettings> {
        let row = sqlx::query("SELECT settings FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("tenant {tenant_id}")))?;
        match get::<Option<String>>(&row, "settings")? {
            Some(text) => parse_json("tenant settings", &text),
            None => Ok(TenantSettings::default()),
        }
    }

    /// Replaces a tenant's settings.
    pub async fn set_tenant_settings(&self, tenant_id: &str, settings: &TenantSettings) -> Result<()> {
        let done = sqlx::query("UPDATE tenants SET settings = $2 WHERE id = $1")
            .bind(tenant_id)
            .bind(to_json(settings))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("tenant {tenant_id}")));
        }
        Ok(())
    }

    /// Every tenant with single sign-on set up, with its settings.
    pub async fn sso_tenants(&self) -> Result<Vec<(String, SsoSettings)>> {
        let rows = sqlx::query("SELECT id, settings FROM tenants WHERE settings IS NOT NULL AND status = 'active'")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for row in &rows {
            let text: String = get(row, "settings")?;
            let settings: TenantSettings = parse_json("tenant settings", &text)?;
            if let Some(sso) = settings.sso {
                out.push((get(row, "id")?, sso));
            }
        }
        Ok(out)
    }
}
