//! Login throttling in memory: the fast path in front of the password and TOTP checks.
//!
//! Keys are whatever the caller counts failures by, usually both `"tenant/username"` and
//! `"ip/203.0.113.7"` (normalised by the caller: this type compares bytes). Memory is
//! bounded: past [`ThrottlePolicy::max_keys`] the entries idle longest are dropped, unlocked
//! ones first. A flood of distinct keys can therefore push out an entry and forget its
//! failures; a lockout that must survive that, or a restart, or hold across several server
//! processes, is kept in the database by the caller.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;

/// Keys longer than this (bytes) are tracked by their SHA-256, so that the memory bound holds
/// whatever length of user name is sent.
const MAX_KEY_BYTES: usize = 128;

/// When to lock a key out, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottlePolicy {
    /// Failures within [`window`](Self::window) that lock the key. Default 5.
    pub max_failures: u32,
    /// How far back failures are counted. Default 15 minutes.
    pub window: Duration,
    /// The first lockout. Each further lockout of the same key, without a success or a quiet
    /// [`max_lockout`](Self::max_lockout) in between, doubles. Default 15 minutes.
    pub lockout: Duration,
    /// The longest lockout, and how long a key must stay quiet for its lockouts to be
    /// forgotten. Default 24 hours.
    pub max_lockout: Duration,
    /// The most keys tracked at once. Default 100,000 (some tens of MB at most).
    pub max_keys: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            max_lockout: Duration::from_secs(24 * 60 * 60),
            max_keys: 100_000,
        }
    }
}

/// A refusal: the key is locked out for this long yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Time left until the key may try again (for a `Retry-After` header).
    pub after: Duration,
}

impl fmt::Display for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many failed attempts; try again in {} s", self.after.as_secs().max(1))
    }
}

impl std::error::Error for Retry {}

/// Counts failed logins per key and locks keys out. `Send + Sync`: one per process, shared.
#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Failures since `window_start`.
    failures: u32,
    window_start: Instant,
    /// Lockouts so far: the next one lasts `lockout × 2^lockouts`.
    lockouts: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

impl Entry {
    fn locked_at(&self, now: Instant) -> Option<Duration> {
        self.locked_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// Time since the last failure or the end of the last lockout, whichever is later.
    fn quiet_for(&self, now: Instant) -> Duration {
        let since = self.locked_until.map_or(self.last_failure, |until| until.max(self.last_failure));
        now.saturating_duration_since(since)
    }
}

impl LoginThrottle {
    /// A throttle with no failures recorded.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self { policy, entries: Mutex::new(HashMap::new()) }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Whether `key` may try now: call before checking the credentials, and refuse without
    /// checking them when it may not.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Retry> {
        let key = stored_key(key);
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key.as_ref()).and_then(|entry| entry.locked_at(now)) {
            Some(after) => Err(Retry { after }),
            None => Ok(()),
        }
    }

    /// Records a failed attempt; `Err` when `key` is now locked out (this failure locked it,
    /// or it was already).
    pub fn failure(&self, key: &str, now: Instant) -> Result<(), Retry> {
        let key = stored_key(key);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if !entries.contains_key(key.as_ref()) && entries.len() >= self.policy.max_keys {
            self.make_room(&mut entries, now);
        }
        let policy = &self.policy;
        let entry = entries.entry(key.into_owned()).or_insert_with(|| Entry {
            failures: 0,
            window_start: now,
            lockouts: 0,
            locked_until: None,
            last_failure: now,
        });
        if let Some(after) = entry.locked_at(now) {
            return Err(Retry { after });
        }
        if entry.quiet_for(now) >= policy.max_lockout {
            entry.lockouts = 0;
        }
        if now.saturating_duration_since(entry.window_start) > policy.window {
            entry.failures = 0;
            entry.window_start = now;
        }
        entry.last_failure = now;
        entry.failures += 1;
        if entry.failures < policy.max_failures {
            return Ok(());
        }
        let factor = 1u32.checked_shl(entry.lockouts).unwrap_or(u32::MAX);
        let after = policy.lockout.saturating_mul(factor).min(policy.max_lockout);
        entry.lockouts = entry.lockouts.saturating_add(1);
        entry.failures = 0;
        entry.window_start = now;
        entry.locked_until = Some(now.checked_add(after).unwrap_or(now));
        Err(Retry { after })
    }

    /// Records a successful login: the key's failures and lockout history are forgotten.
    pub fn success(&self, key: &str) {
        let key = stored_key(key);
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(key.as_ref());
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Drops the entries that no longer matter; if that is not enough, a tenth of the
    /// entries idle longest, unlocked before locked (so the scan runs once per many inserts).
    fn make_room(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        let policy = &self.policy;
        entries.retain(|_, entry| {
            let quiet = entry.quiet_for(now);
            entry.locked_at(now).is_some()
                || quiet < policy.max_lockout && (entry.lockouts > 0 || quiet <= policy.window)
        });
        if entries.len() < policy.max_keys {
            return;
        }
        let mut by_age: Vec<(bool, Instant, String)> = entries
            .iter()
            .map(|(key, entry)| (entry.locked_at(now).is_some(), entry.last_failure, key.clone()))
            .collect();
        let drop = (policy.max_keys / 10).max(1).min(by_age.len());
        by_age.select_nth_unstable_by(drop - 1, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, key) in by_age.into_iter().take(drop) {
            entries.remove(&key);
        }
    }
}

/// The key as tracked: itself, or `sha256:<hex>` when longer than [`MAX_KEY_BYTES`].
fn stored_key(key: &str) -> Cow<'_, str> {
    if key.len() <= MAX_KEY_BYTES {
        return Cow::Borrowed(key);
    }
    let hash = digest::digest(&digest::SHA256, key.as_bytes());
    Cow::Owned(format!("sha256:{}", hex::encode(hash)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottlePolicy::default())
    }

    #[test]
    fn locks_after_five_failures_within_the_window() {
        let throttle = throttle();
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(throttle.failure("acme/jane", t0 + MIN * i), Ok(()));
            assert_eq!(throttle.check("acme/jane", t0 + MIN * i), Ok(()));
        }
        let t = t0 + MIN * 4;
        assert_eq!(throttle.failure("acme/jane", t), Err(Retry { after: 15 * MIN }));
        assert_eq!(throttle.check("acme/jane", t + MIN), Err(Retry { after: 14 * MIN }));
        assert_eq!(throttle.check("acme/john", t), Ok(()));
        assert_eq!(throttle.check("acme/jane", t + 15 * MIN), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let throttle = throttle();
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(throttle.failure("k", t0 + MIN * i), Ok(()));
        }
        // The window started at t0; 16 minutes later the count starts again.
        let t = t0 + 16 * MIN;
        for i in 0..4 {
            assert_eq!(throttle.failure("k", t + MIN * i), Ok(()));
        }
        assert!(throttle.failure("k", t + 4 * MIN).is_err());
    }

    #[test]
    fn repeated_lockouts_grow_up_to_the_maximum() {
        let throttle = throttle();
        let mut t = Instant::now();
        let mut lockouts = Vec::new();
        for _ in 0..9 {
            let retry = (0..5).find_map(|_| throttle.failure("k", t).err()).unwrap();
            lockouts.push(retry.after.as_secs() / 60);
            t += retry.after;
            assert_eq!(throttle.check("k", t), Ok(()));
        }
        assert_eq!(lockouts, [15, 30, 60, 120, 240, 480, 960, 1440, 1440]);
    }

    #[test]
    fn success_resets() {
        let throttle = throttle();
        let t = Instant::now();
        for _ in 0..4 {
            let _ = throttle.failure("k", t);
        }
        throttle.success("k");
        assert_eq!(throttle.tracked(), 0);
        for _ in 0..4 {
            assert_eq!(throttle.failure("k", t), Ok(()));
        }
    }

    #[test]
    fn failures_while_locked_do_not_extend_the_lock() {
        let throttle = throttle();
        let t = Instant::now();
        let retry = (0..5).find_map(|_| throttle.failure("k", t).err()).unwrap();
        assert_eq!(throttle.failure("k", t + MIN), Err(Retry { after: retry.after - MIN }));
    }

    #[test]
    fn lockout_history_is_forgotten_after_a_quiet_day() {
        let throttle = throttle();
        let t = Instant::now();
        let _ = (0..5).find_map(|_| throttle.failure("k", t).err());
        let t = t + Duration::from_secs(25 * 3600);
        let retry = (0..5).find_map(|_| throttle.failure("k", t).err()).unwrap();
        assert_eq!(retry.after, 15 * MIN);
    }

    #[test]
    fn memory_is_bounded_and_locked_keys_survive_longest() {
        let policy = ThrottlePolicy { max_keys: 100, ..ThrottlePolicy::default() };
        let throttle = LoginThrottle::new(policy);
        let t = Instant::now();
        let retry = (0..5).find_map(|_| throttle.failure("victim", t).err()).unwrap();
        for i in 0..1000u32 {
            let _ = throttle.failure(&format!("spray/{i}"), t + Duration::from_millis(u64::from(i)));
            assert!(throttle.tracked() <= 100);
        }
        assert_eq!(throttle.check("victim", t + MIN), Err(Retry { after: retry.after - MIN }));
    }

    #[test]
    fn long_keys_are_tracked_by_their_hash() {
        let throttle = throttle();
        let t = Instant::now();
        let long = format!("acme/{}", "x".repeat(1 << 20));
        let retry = (0..5).find_map(|_| throttle.failure(&long, t).err()).unwrap();
        assert_eq!(throttle.check(&long, t), Err(retry));
        assert_eq!(throttle.check(&format!("{long}y"), t), Ok(()));
        let stored = throttle.entries.lock().unwrap().keys().map(String::len).max().unwrap();
        assert_eq!(stored, "sha256:".len() + 64);
        throttle.success(&long);
        assert_eq!(throttle.tracked(), 0);
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<LoginThrottle>();
    }
}
