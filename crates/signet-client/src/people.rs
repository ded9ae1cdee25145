//! People of a tenant, and the tenant's settings (MFA, single sign-on).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::operations::*;
use crate::{Client, Result};

/// What a person may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Users, keys, settings and webhooks.
    TenantAdmin,
    /// Creates and manages seals, decides seal-use requests.
    SealAdmin,
    /// Uses the seals granted to them.
    SealUser,
    /// Reads the signing log, changes nothing.
    Auditor,
    /// Signs with identities and their own personal seal.
    Signer,
    /// A role this version of the client does not know (never sent).
    #[serde(other)]
    Other,
}

/// A person of a tenant.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
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
}

/// A new user.
///
/// ```
/// use signet_client::{CreateUser, Role};
///
/// let li = CreateUser {
///     display_name: Some("Li Wei".into()),
///     password: Some("a long and private passphrase".into()),
///     ..CreateUser::new("li.wei", &[Role::SealUser])
/// };
/// ```
#[derive(Clone, Default, PartialEq, Serialize)]
pub struct CreateUser {
    /// Login name: 1 to 64 of letters, digits, `.`, `_`, `-`, `@`.
    pub username: String,
    /// Name shown (default: the login name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Initial password (none: single sign-on only, or one set later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl CreateUser {
    /// A user `username` with `roles`.
    pub fn new(username: impl Into<String>, roles: &[Role]) -> CreateUser {
        CreateUser { username: username.into(), roles: roles.to_vec(), ..Default::default() }
    }
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the password
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// What changes in a user: only the fields given.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UpdateUser {
    /// Name shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Roles (replacing the old ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    /// `active` or `disabled` (a disabled user's sessions end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The identity provider's account (`issuer|subject`); `""` unlinks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_subject: Option<String>,
}

/// A colleague, as the envelope wizard lists them.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DirectoryEntry {
    /// `usr_…`
    pub id: String,
    /// The login name.
    pub username: String,
    /// The name shown.
    pub display_name: String,
}

/// A tenant's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    /// Users holding any of these roles must use TOTP.
    pub mfa_required_roles: Vec<Role>,
    /// Single sign-on with an OpenID Connect / JWT identity provider.
    pub sso: Option<SsoSettings>,
}

/// OpenID Connect / JWT single sign-on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SsoSettings {
    /// The `iss` of the tokens.
    pub issuer: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// Where the provider publishes its keys (JWKS).
    pub jwks_url: String,
    /// The claim holding the user's groups or roles, e.g. `groups`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles_claim: Option<String>,
    /// Claim value → Signet role.
    pub role_map: BTreeMap<String, Role>,
    /// The claim naming the login (default `preferred_username`, else `email`, else `sub`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username_claim: Option<String>,
    /// Create a user at their first login.
    pub create_users: bool,
    /// Roles of users created at first login when the token maps to none.
    pub default_roles: Vec<Role>,
}

#[derive(Serialize)]
struct SetPassword<'a> {
    password: &'a str,
}

/// People and settings.
impl Client {
    /// `GET /api/v1/users`.
    pub fn list_users(&self) -> Result<Vec<User>> {
        self.call(LIST_USERS, &[]).answer()
    }

    /// `POST /api/v1/users`.
    pub fn create_user(&self, user: &CreateUser) -> Result<User> {
        self.call(CREATE_USER, &[]).json(user)
    }

    /// `GET /api/v1/users/directory`: the tenant's active users.
    pub fn user_directory(&self) -> Result<Vec<DirectoryEntry>> {
        self.call(USER_DIRECTORY, &[]).answer()
    }

    /// `GET /api/v1/users/{id}`.
    pub fn show_user(&self, id: &str) -> Result<User> {
        self.call(SHOW_USER, &[id]).answer()
    }

    /// `PATCH /api/v1/users/{id}`.
    pub fn update_user(&self, id: &str, change: &UpdateUser) -> Result<User> {
        self.call(UPDATE_USER, &[id]).json(change)
    }

    /// `DELETE /api/v1/users/{id}/mfa`: the user sets up TOTP again at the next login.
    pub fn reset_mfa(&self, id: &str) -> Result<User> {
        self.call(RESET_MFA, &[id]).answer()
    }

    /// `POST /api/v1/users/{id}/password` (at least 12 characters).
    pub fn set_password(&self, id: &str, password: &str) -> Result<()> {
        self.call(SET_PASSWORD, &[id]).send_json(&SetPassword { password }).map(drop)
    }

    /// `POST /api/v1/users/{id}/unlock`: ends a lock after failed logins.
    pub fn unlock_user(&self, id: &str) -> Result<User> {
        self.call(UNLOCK_USER, &[id]).answer()
    }

    /// `GET /api/v1/settings`.
    pub fn show_settings(&self) -> Result<TenantSettings> {
        self.call(SHOW_SETTINGS, &[]).answer()
    }

    /// `PUT /api/v1/settings`: replaces the tenant's settings.
    pub fn put_settings(&self, settings: &TenantSettings) -> Result<TenantSettings> {
        self.call(PUT_SETTINGS, &[]).json(settings)
    }
}
