//! A login as the server runs it: password, throttle, TOTP enrolment with clocks that
//! disagree, and recovery codes that work once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use signet_access::password::HashParams;
use signet_access::recovery::{self, DEFAULT_COUNT};
use signet_access::totp::{self, PERIOD};
use signet_access::{LoginThrottle, RecoveryCodes, ThrottlePolicy, TotpSecret, verify_password};

/// What the server keeps per user.
struct UserRow {
    password_hash: String,
    totp_secret: Option<String>,
    totp_last_step: Option<u64>,
}

/// Fast parameters: the defaults are exercised by the unit tests.
fn params() -> HashParams {
    HashParams::new(256, 1, 1).unwrap()
}

/// The secret an authenticator app reads from the enrolment URI.
fn app_secret(uri: &str) -> TotpSecret {
    let query = uri.split_once('?').unwrap().1;
    let secret = query.split('&').find_map(|pair| pair.strip_prefix("secret=")).unwrap();
    TotpSecret::from_base32(secret).unwrap()
}

#[test]
fn totp_enrolment_and_login_with_a_clock_that_is_off() {
    let server_now: u64 = 1_750_000_000;
    let secret = TotpSecret::generate().unwrap();
    let mut user = UserRow {
        password_hash: params().hash("a long enough passphrase").unwrap(),
        totp_secret: None,
        totp_last_step: None,
    };

    // Enrolment: the app scans the URI; the user confirms with a code before the secret is
    // kept. The phone's clock is 25 s ahead.
    let uri = secret.otpauth_uri("Signet (ACME)", "jane@acme.example");
    assert!(uri.starts_with("otpauth://totp/Signet%20%28ACME%29:jane%40acme.example?secret="));
    let app = app_secret(&uri);
    let confirm = app.code_at(server_now + 25);
    let step = secret.verify(&confirm, server_now, None).expect("enrolment code");
    assert_eq!(step, totp::time_step(server_now) + 1);
    user.totp_secret = Some(secret.to_base32());
    user.totp_last_step = Some(step);

    // Login two minutes later, the phone now 20 s behind.
    let login_at = server_now + 120;
    assert!(verify_password("a long enough passphrase", &user.password_hash).unwrap());
    let stored = TotpSecret::from_base32(user.totp_secret.as_deref().unwrap()).unwrap();
    let code = app.code_at(login_at - 20);
    let step = stored.verify(&code, login_at, user.totp_last_step).expect("login code");
    user.totp_last_step = Some(step);

    // The same code again (seen over a shoulder, replayed): refused.
    assert_eq!(stored.verify(&code, login_at + 5, user.totp_last_step), None);
    // A phone more than one step off: refused.
    let far = app.code_at(login_at + 3 * PERIOD);
    assert_eq!(stored.verify(&far, login_at, user.totp_last_step), None);
    assert_eq!(step, totp::time_step(login_at - 20));
}

#[test]
fn recovery_codes_work_once() {
    let mut user_hashes;
    let shown;
    {
        let set = RecoveryCodes::generate(DEFAULT_COUNT).unwrap();
        shown = set.codes().to_vec();
        user_hashes = set.hashes().to_vec();
    }
    // Typed in capitals with spaces instead of dashes.
    let typed = shown[3].to_uppercase().replace('-', " ");
    let used = recovery::matches(&typed, &user_hashes).expect("a fresh code");
    assert_eq!(used, 3);
    user_hashes.remove(used);
    assert_eq!(recovery::matches(&typed, &user_hashes), None);
    assert_eq!(recovery::matches(&shown[3], &user_hashes), None);
    // The others still work.
    assert!(recovery::matches(&shown[4], &user_hashes).is_some());
    assert_eq!(user_hashes.len(), DEFAULT_COUNT - 1);
}

#[test]
fn throttled_password_login() {
    let throttle = LoginThrottle::new(ThrottlePolicy::default());
    let mut users = HashMap::new();
    users.insert("acme/jane", params().hash("correct horse battery staple").unwrap());

    let login = |user: &str, password: &str, ip: &str, now: Instant| -> Result<bool, Duration> {
        let (user_key, ip_key) = (user.to_string(), format!("ip/{ip}"));
        throttle.check(&user_key, now).map_err(|r| r.after)?;
        throttle.check(&ip_key, now).map_err(|r| r.after)?;
        let ok = match users.get(user) {
            Some(hash) => verify_password(password, hash).unwrap(),
            None => {
                params().dummy_verify(password);
                false
            }
        };
        if ok {
            throttle.success(&user_key);
        } else {
            let _ = throttle.failure(&user_key, now);
            let _ = throttle.failure(&ip_key, now);
        }
        Ok(ok)
    };

    let t = Instant::now();
    for _ in 0..4 {
        assert_eq!(login("acme/jane", "guess", "198.51.100.1", t), Ok(false));
    }
    assert_eq!(login("acme/jane", "correct horse battery staple", "198.51.100.1", t), Ok(true));
    for _ in 0..5 {
        assert_eq!(login("acme/jane", "guess", "198.51.100.2", t), Ok(false));
    }
    // Locked: even the right password is not checked.
    let locked = login("acme/jane", "correct horse battery staple", "198.51.100.3", t + Duration::from_secs(60));
    assert_eq!(locked, Err(Duration::from_secs(14 * 60)));
    // The attacker's address is locked for other accounts too.
    assert!(login("acme/nobody", "guess", "198.51.100.2", t).is_err());
    let later = t + Duration::from_secs(15 * 60);
    assert_eq!(login("acme/jane", "correct horse battery staple", "198.51.100.3", later), Ok(true));
}
