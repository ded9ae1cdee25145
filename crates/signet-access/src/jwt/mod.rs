//! Tokens from an organisation's identity provider: OpenID Connect ID tokens (OpenID
//! Connect Core §2) and JWT bearer tokens (RFC 7519), signed as JWS compact serializations
//! (RFC 7515 §7.1) with keys from the issuer's JWKS (RFC 7517).
//!
//! [`JwtVerifier::verify`] follows RFC 7515 §5.2 and OpenID Connect Core §3.1.3.7:
//!
//! 1. three base64url parts (no padding), at most [`MAX_TOKEN_BYTES`]; header and claims
//!    JSON objects;
//! 2. `alg` one of the issuer's allowed [`Algorithm`]s (never `none` nor HMAC), no `crit`;
//! 3. the key selected by `kid` from the issuer's JWKS ([`JwksCache`]), of a type and
//!    `alg` that fit; the signature verifies;
//! 4. `iss` equals the configured issuer; `aud` contains a configured audience; `azp`, if
//!    present, is a configured audience;
//! 5. `exp` present and not passed, `nbf` and `iat` not in the future, each with the
//!    configured leeway;
//! 6. `sub` present.

mod cache;
mod claims;
mod jwk;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

pub use cache::{
    DEFAULT_MIN_REFETCH, DEFAULT_TTL, FETCH_TIMEOUT, FetchedJwks, HttpJwks, JwksCache, JwksSource, MAX_JWKS_BYTES,
    http_error_text,
};
pub use claims::Claims;
pub use jwk::{Algorithm, Jwks, MAX_KEYS};

use crate::Error;

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The default allowance for clocks that disagree.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// An identity provider whose tokens are accepted, and what its tokens must say.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtIssuer {
    /// The issuer identifier, compared exactly with `iss` (OpenID Connect Core §3.1.3.7,
    /// item 2), e.g. `https://login.example.com/realms/acme`.
    pub issuer: String,
    /// The audiences accepted in `aud`: for ID tokens, the client ID Signet is registered
    /// with at the provider (item 3).
    pub audiences: Vec<String>,
    /// The provider's JWKS URL (`jwks_uri` of its discovery document).
    pub jwks_url: String,
    /// Allowance for clock differences in `exp`, `nbf` and `iat`. Default 60 s.
    pub leeway: Duration,
    /// The `alg` values accepted (item 7). Default: all of [`Algorithm::ALL`].
    pub allowed_algs: Vec<Algorithm>,
}

impl JwtIssuer {
    /// An issuer with the default leeway and algorithms.
    pub fn new(
        issuer: impl Into<String>,
        audiences: impl IntoIterator<Item = impl Into<String>>,
        jwks_url: impl Into<String>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: audiences.into_iter().map(Into::into).collect(),
            jwks_url: jwks_url.into(),
            leeway: DEFAULT_LEEWAY,
            allowed_algs: Algorithm::ALL.to_vec(),
        }
    }
}

/// Verifies tokens of one issuer, with its keys cached.
///
/// Share one per issuer (in an `Arc`): the key cache is what keeps the provider from being
/// asked for its keys on every login.
#[derive(Debug)]
pub struct JwtVerifier<S = HttpJwks> {
    issuer: JwtIssuer,
    keys: JwksCache<S>,
}

impl JwtVerifier<HttpJwks> {
    /// A verifier fetching keys from the issuer's `jwks_url`, which must be `https` (or
    /// `http` on a loopback address: see [`HttpJwks::new`]; [`JwtVerifier::with_cache`] takes
    /// any other source).
    pub fn new(issuer: JwtIssuer) -> Result<Self, Error> {
        let source = HttpJwks::new(&issuer.jwks_url)?;
        Ok(Self { issuer, keys: JwksCache::new(source) })
    }
}

impl<S: JwksSource> JwtVerifier<S> {
    /// A verifier with its own key cache (another source, other cache timings).
    pub fn with_cache(issuer: JwtIssuer, keys: JwksCache<S>) -> Self {
        Self { issuer, keys }
    }

    /// The issuer's configuration.
    pub fn issuer(&self) -> &JwtIssuer {
        &self.issuer
    }

    /// The key cache.
    pub fn keys(&self) -> &JwksCache<S> {
        &self.keys
    }

    /// Verifies a token at time `now` (usually `SystemTime::now()`) and returns its claims.
    ///
    /// May fetch the issuer's keys (see [`JwksCache`]); every other check is local.
    pub async fn verify(&self, token: &str, now: SystemTime) -> Result<Claims, Error> {
        let token = Token::parse(token)?;
        let alg = match Algorithm::from_name(&token.alg) {
            Some(alg) if self.issuer.allowed_algs.contains(&alg) => alg,
            _ => return Err(Error::AlgorithmNotAllowed { alg: token.alg }),
        };
        let keys = self.keys.keys_for(token.kid.as_deref(), alg, now).await?;
        keys.select(token.kid.as_deref(), alg)?.verify(alg, token.signing_input.as_bytes(), &token.signature)?;
        let claims = Claims::parse(token.claims, alg, token.kid)?;
        self.check_claims(&claims, unix_seconds(now))?;
        Ok(claims)
    }

    /// The checks of OpenID Connect Core §3.1.3.7 items 2 to 5, 9 and 10 (RFC 7519 §4.1).
    fn check_claims(&self, claims: &Claims, now: i64) -> Result<(), Error> {
        let issuer = &self.issuer;
        if claims.iss() != issuer.issuer || issuer.issuer.is_empty() {
            return Err(Error::WrongIssuer {
                got: claims.get("iss").and_then(Value::as_str).map(str::to_string),
                expected: issuer.issuer.clone(),
            });
        }
        if !claims.aud().iter().any(|aud| issuer.audiences.contains(aud)) {
            return Err(Error::WrongAudience { got: claims.aud().to_vec(), expected: issuer.audiences.clone() });
        }
        // OpenID Connect Core §3.1.3.7 item 5: if `azp` is present, it is our client ID.
        match claims.get("azp") {
            None => {}
            Some(Value::String(azp)) if issuer.audiences.contains(azp) => {}
            Some(Value::String(azp)) => return Err(Error::WrongAuthorizedParty { got: azp.clone() }),
            Some(_) => return Err(Error::MissingClaim("azp")),
        }
        let leeway = i64::try_from(issuer.leeway.as_secs()).unwrap_or(i64::MAX);
        let exp = claims.exp();
        if now >= exp.saturating_add(leeway) {
            return Err(Error::Expired { exp, now });
        }
        if let Some(nbf) = claims::numeric_date(claims.raw(), "nbf")? {
            if nbf > now.saturating_add(leeway) {
                return Err(Error::NotYetValid { nbf, now });
            }
        }
        if let Some(iat) = claims::numeric_date(claims.raw(), "iat")? {
            if iat > now.saturating_add(leeway) {
                return Err(Error::IssuedInFuture { iat, now });
            }
        }
        Ok(())
    }
}

/// A JWS compact serialization taken apart (RFC 7515 §5.2 steps 1 to 7), not yet verified.
#[derive(Debug)]
struct Token {
    alg: String,
    kid: Option<String>,
    signing_input: String,
    signature: Vec<u8>,
    claims: Map<String, Value>,
}

impl Token {
    fn parse(token: &str) -> Result<Self, Error> {
        let malformed = |what: &str| Error::Malformed(what.to_string());
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::Malformed(format!("{} bytes; at most {MAX_TOKEN_BYTES} are accepted", token.len())));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return Err(match parts.len() {
                5 => malformed("5 parts: an encrypted token (JWE), which is not accepted"),
                n => Error::Malformed(format!("{n} parts; a JWS has 3")),
            });
        };
        let header = json_object(header, "header")?;
        let claims = json_object(payload, "claims")?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed("signature is not base64url"))?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.clone(),
            _ => return Err(malformed("header has no \"alg\" string")),
        };
        // RFC 7515 §4.1.11: extensions marked critical must be understood; none are here.
        if let Some(crit) = header.get("crit") {
            return Err(Error::UnsupportedCritical(crit.to_string()));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(malformed("header \"kid\" is not a string")),
        };
        let signing_input = token[..token.len() - parts[2].len() - 1].to_string();
        Ok(Self { alg, kid, signing_input, signature, claims })
    }
}

fn json_object(b64: &str, what: &str) -> Result<Map<String, Value>, Error> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| Error::Malformed(format!("{what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Malformed(format!("{what} is not a JSON object"))),
        Err(e) => Err(Error::Malformed(format!("{what} is not JSON: {e}"))),
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |secs| -secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn token_shapes() {
        let h = b64(r#"{"alg":"RS256","kid":"k"}"#);
        let p = b64(r#"{"sub":"x"}"#);
        let ok = format!("{h}.{p}.AAAA");
        let token = Token::parse(&ok).unwrap();
        assert_eq!(token.alg, "RS256");
        assert_eq!(token.kid.as_deref(), Some("k"));
        assert_eq!(token.signing_input, format!("{h}.{p}"));
        assert_eq!(token.signature, [0, 0, 0]);

        for (bad, why) in [
            (String::new(), "1 parts"),
            (format!("{h}.{p}"), "2 parts"),
            (format!("{h}.{p}.AAAA.AAAA"), "4 parts"),
            (format!("{h}.{p}.AAAA.AAAA.AAAA"), "JWE"),
            (format!("{h}=.{p}.AAAA"), "header is not base64url"),
            (format!("{h}.{p}.AAAA="), "signature is not base64url"),
            (format!("{h}.{p}.A"), "signature is not base64url"),
            (format!("{h}.{}.AAAA", b64("[1]")), "claims is not a JSON object"),
            (format!("{h}.{}.AAAA", b64("{")), "claims is not JSON"),
            (format!("{}.{p}.AAAA", b64(r#"{"kid":"k"}"#)), "no \"alg\""),
            (format!("{}.{p}.AAAA", b64(r#"{"alg":"RS256","kid":5}"#)), "\"kid\" is not a string"),
            (format!("{h}.{p}.{}", "A".repeat(MAX_TOKEN_BYTES)), "at most"),
        ] {
            match Token::parse(&bad) {
                Err(Error::Malformed(what)) => assert!(what.contains(why), "{what} / {why}"),
                other => panic!("{why}: {other:?}"),
            }
        }
        let crit = format!("{}.{p}.AAAA", b64(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#));
        assert!(matches!(Token::parse(&crit), Err(Error::UnsupportedCritical(_))));
    }

    #[test]
    fn base64url_must_be_canonical() {
        // "QQ" is "A"; "QR" differs only in bits past the end, which a strict decoder refuses
        // (otherwise one signature would have several encodings).
        assert!(URL_SAFE_NO_PAD.decode("QQ").is_ok());
        assert!(URL_SAFE_NO_PAD.decode("QR").is_err());
    }

    #[test]
    fn unix_seconds_either_side_of_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_secs(5)), 5);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(5)), -5);
    }
}
