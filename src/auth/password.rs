//! Passwords: Argon2id at the OWASP setting (the argon2 crate's default),
//! the length rule and the common-password list of docs/security.md. Hashing
//! runs on the blocking pool behind a semaphore, so a flood of sign-ins
//! cannot take all memory (each hash uses 19 MiB).

use std::sync::{Arc, LazyLock};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt").lines().map(str::trim).filter(|l| !l.is_empty()).collect()
});

/// Checks a new password; the message says what to change.
pub fn check_new(password: &str, username: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LEN {
        return Err(format!("Use at least {MIN_LEN} characters; a phrase of several words is easiest."));
    }
    if length > MAX_LEN {
        return Err(format!("Use at most {MAX_LEN} characters."));
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err("The password must not contain the username.".into());
    }
    if is_common(&lower) {
        return Err("This password is on the list of commonly used passwords; choose another.".into());
    }
    Ok(())
}

/// A password is common if it, or it stripped of trailing digits and
/// punctuation ("Password123!"), or a single repeated character is listed.
fn is_common(lower: &str) -> bool {
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let first = lower.chars().next();
    COMMON.contains(lower)
        || (stem.len() >= 4 && COMMON.contains(stem))
        || lower.chars().all(|c| Some(c) == first)
        || is_keyboard_run(lower)
}

/// "123456789012", "abcdefghijkl", "qwertyuiopas": runs along a row.
fn is_keyboard_run(lower: &str) -> bool {
    const ROWS: [&str; 5] =
        ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz"];
    let compact: String = lower.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    ROWS.iter().any(|row| {
        let doubled = row.repeat(3);
        compact.len() >= 8 && doubled.contains(&compact[..compact.len().min(doubled.len())])
    })
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self { permits: Arc::new(Semaphore::new(4)) }
    }
}

/// A hash of a random password, verified against when the user does not
/// exist so the response takes as long as for a real account.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(crate::web::random_token(16).as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
});

impl Hasher {
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
        })
        .await?
    }

    /// True when `password` matches `hash`; with no hash, spends the same
    /// time and returns false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_string();
        let hash = hash.map(str::to_string);
        tokio::task::spawn_blocking(move || {
            let target = hash.as_deref().unwrap_or(DUMMY_HASH.as_str());
            let matches = Argon2::default().verify_password(password.as_bytes(), target).is_ok();
            matches && hash.is_some()
        })
        .await
        .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert!(check_new("short phrase", "").is_ok());
        assert!(check_new("elevenchars", "").is_err());
        assert!(check_new(&"x".repeat(129), "").is_err());
    }

    #[test]
    fn common_and_trivial_passwords_are_refused() {
        for pw in
            ["password1234", "Password123!", "123456789012", "qwertyuiop12", "aaaaaaaaaaaa", "iloveyou1234"]
        {
            assert!(check_new(pw, "").is_err(), "{pw} should be refused");
        }
        assert!(check_new("river lantern ochre", "").is_ok());
    }

    #[test]
    fn username_inside_password_is_refused() {
        assert!(check_new("jdoe-river-lantern", "jdoe").is_err());
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = Hasher::default();
        let hash = h.hash("river lantern ochre").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify("river lantern ochre", Some(&hash)).await.unwrap());
        assert!(!h.verify("river lantern ochra", Some(&hash)).await.unwrap());
        assert!(!h.verify("river lantern ochre", None).await.unwrap());
    }
}
