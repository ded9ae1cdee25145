//! The claims of a verified token (RFC 7519 §4, OpenID Connect Core §2 and §5.1).

use serde_json::{Map, Value};

use crate::Error;
use crate::jwt::Algorithm;

/// The claims of a token whose signature, issuer, audience and times were checked.
///
/// The registered claims the checks needed are parsed; everything else is in the raw JSON
/// ([`Claims::get`], [`Claims::strings`]), for the caller to map to a user and roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    raw: Map<String, Value>,
    iss: String,
    sub: String,
    aud: Vec<String>,
    exp: i64,
    alg: Algorithm,
    kid: Option<String>,
}

impl Claims {
    /// Reads the registered claims the checks need: `iss`, `sub`, `aud`, `exp`.
    pub(crate) fn parse(raw: Map<String, Value>, alg: Algorithm, kid: Option<String>) -> Result<Self, Error> {
        // `iss` and `aud` are checked against the configuration, which names them in its
        // errors; here they only have to have the right type when present.
        let iss = match raw.get("iss") {
            None => String::new(),
            Some(Value::String(iss)) => iss.clone(),
            Some(_) => return Err(Error::MissingClaim("iss")),
        };
        let sub = match raw.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(Error::MissingClaim("sub")),
        };
        // RFC 7519 §4.1.3: one string, or an array of strings.
        let aud = match raw.get("aud") {
            None => Vec::new(),
            Some(Value::String(aud)) => vec![aud.clone()],
            Some(Value::Array(auds)) => auds
                .iter()
                .map(|aud| aud.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or(Error::MissingClaim("aud"))?,
            Some(_) => return Err(Error::MissingClaim("aud")),
        };
        let exp = numeric_date(&raw, "exp")?.ok_or(Error::MissingClaim("exp"))?;
        Ok(Self { raw, iss, sub, aud, exp, alg, kid })
    }

    /// `sub`: the user's identifier at the issuer, stable and never reassigned (OpenID
    /// Connect Core §2). Link accounts by this (with the issuer), not by e-mail.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// `iss`: the issuer, equal to the configured one.
    pub fn iss(&self) -> &str {
        &self.iss
    }

    /// `aud`: the audiences, one of which is configured.
    pub fn aud(&self) -> &[String] {
        &self.aud
    }

    /// `exp`: when the token expires, in Unix seconds.
    pub fn exp(&self) -> i64 {
        self.exp
    }

    /// `iat`: when the token was issued, in Unix seconds, if it says.
    pub fn iat(&self) -> Option<i64> {
        numeric_date(&self.raw, "iat").ok().flatten()
    }

    /// `email` (OpenID Connect Core §5.1).
    pub fn email(&self) -> Option<&str> {
        self.str("email")
    }

    /// `email_verified` (OpenID Connect Core §5.1): whether the issuer checked that the user
    /// controls [`email`](Self::email). An unverified address must not be used to find an
    /// existing account.
    pub fn email_verified(&self) -> Option<bool> {
        self.raw.get("email_verified").and_then(Value::as_bool)
    }

    /// `name` (OpenID Connect Core §5.1).
    pub fn name(&self) -> Option<&str> {
        self.str("name")
    }

    /// `preferred_username` (OpenID Connect Core §5.1); not unique, not stable.
    pub fn preferred_username(&self) -> Option<&str> {
        self.str("preferred_username")
    }

    /// The algorithm the token was signed with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The `kid` of the key that verified the token, if the token named one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Any claim, as JSON.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw.get(name)
    }

    /// The strings of a claim that holds one string or an array of them, found by a
    /// dot-separated path: `"groups"`, `"roles"`, or Keycloak's `"realm_access.roles"`.
    /// Empty when the claim is missing or of another type; non-string array members are
    /// skipped. A claim whose name itself has a dot is found too (tried first).
    pub fn strings(&self, path: &str) -> Vec<&str> {
        let value = self.raw.get(path).or_else(|| {
            let mut parts = path.split('.');
            let first = self.raw.get(parts.next()?)?;
            parts.try_fold(first, |value, part| value.get(part))
        });
        match value {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// All claims, as JSON.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.raw.get(name).and_then(Value::as_str)
    }
}

/// A NumericDate claim (RFC 7519 §2: seconds since the epoch, possibly with a fraction,
/// which is dropped); `Ok(None)` when absent, an error when not a number.
pub(crate) fn numeric_date(raw: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, Error> {
    let Some(value) = raw.get(name) else {
        return Ok(None);
    };
    let Value::Number(number) = value else {
        return Err(Error::MissingClaim(name));
    };
    if let Some(seconds) = number.as_i64() {
        return Ok(Some(seconds));
    }
    match number.as_f64() {
        // The bounds keep the conversion exact and far from i64 overflow (year ~285 million).
        Some(seconds) if seconds.is_finite() && seconds.abs() < 9.0e15 => Ok(Some(seconds.floor() as i64)),
        _ => Err(Error::MissingClaim(name)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Result<Claims, Error> {
        let Value::Object(map) = value else { panic!("not an object") };
        Claims::parse(map, Algorithm::Rs256, None)
    }

    #[test]
    fn registered_and_oidc_claims() {
        let c = claims(json!({
            "iss": "https://idp.example.com", "sub": "248289761001", "aud": ["signet", "other"],
            "exp": 1311281970, "iat": 1311280970.75, "email": "jane@example.com", "email_verified": true,
            "name": "Jane Doe", "preferred_username": "j.doe",
            "groups": ["signers", 7, "admins"], "realm_access": {"roles": ["approver"]}, "role": "viewer",
            "a.b": "dotted"
        }))
        .unwrap();
        assert_eq!(c.iss(), "https://idp.example.com");
        assert_eq!(c.sub(), "248289761001");
        assert_eq!(c.aud(), ["signet", "other"]);
        assert_eq!(c.exp(), 1311281970);
        assert_eq!(c.iat(), Some(1311280970));
        assert_eq!(c.email(), Some("jane@example.com"));
        assert_eq!(c.email_verified(), Some(true));
        assert_eq!(c.name(), Some("Jane Doe"));
        assert_eq!(c.preferred_username(), Some("j.doe"));
        assert_eq!(c.strings("groups"), ["signers", "admins"]);
        assert_eq!(c.strings("realm_access.roles"), ["approver"]);
        assert_eq!(c.strings("role"), ["viewer"]);
        assert_eq!(c.strings("a.b"), ["dotted"]);
        assert!(c.strings("missing").is_empty());
        assert!(c.strings("realm_access").is_empty());
        assert_eq!(c.get("email_verified"), Some(&json!(true)));
    }

    #[test]
    fn required_claims_and_types() {
        let base = json!({"iss": "i", "sub": "s", "aud": "a", "exp": 10});
        assert!(claims(base.clone()).is_ok());
        for (name, value) in [
            ("sub", Value::Null),
            ("sub", json!("")),
            ("sub", json!(5)),
            ("exp", Value::Null),
            ("exp", json!("10")),
            ("aud", json!(["a", 1])),
            ("aud", json!({"a": 1})),
            ("iss", json!(1)),
        ] {
            let mut bad = base.clone();
            if value.is_null() {
                bad.as_object_mut().unwrap().remove(name);
            } else {
                bad[name] = value;
            }
            assert!(matches!(claims(bad), Err(Error::MissingClaim(n)) if n == name), "{name}");
        }
    }

    #[test]
    fn numeric_dates() {
        let Value::Object(map) = json!({"a": 5, "b": 5.9, "c": -1.5, "d": 1e300, "e": true}) else { unreachable!() };
        assert_eq!(numeric_date(&map, "a"), Ok(Some(5)));
        assert_eq!(numeric_date(&map, "b"), Ok(Some(5)));
        assert_eq!(numeric_date(&map, "c"), Ok(Some(-2)));
        assert_eq!(numeric_date(&map, "d"), Err(Error::MissingClaim("d")));
        assert_eq!(numeric_date(&map, "e"), Err(Error::MissingClaim("e")));
        assert_eq!(numeric_date(&map, "z"), Ok(None));
    }
}
