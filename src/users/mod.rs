//! User accounts: who may sign in, with which roles, and their lockout and
//! session state. Administrators manage them here; sign-in itself is in
//! `auth`.

pub mod routes;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::auth::{CurrentUser, Role};
use crate::web::FieldErrors;

/// Failures within this window lock the account (CJIS AC-7).
pub const LOCKOUT_FAILURES: i64 = 5;
pub const LOCKOUT_WINDOW_SECS: i64 = 15 * 60;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: i64,
    pub disabled: i64,
    pub locked: i64,
    pub failed_logins: i64,
    pub first_failed_at: Option<i64>,
    pub session_epoch: i64,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub totp_secret: Option<String>,
    pub totp_last_step: i64,
    pub officer_id: Option<i64>,
    pub supervisor_kind: String,
    /// The agency the user belongs to; none for a state user.
    pub agency_id: Option<i64>,
    #[sqlx(skip)]
    pub roles: Vec<Role>,
}

impl Account {
    pub fn into_current(self) -> CurrentUser {
        CurrentUser {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            agency: self.agency_id,
            roles: self.roles,
        }
    }

    pub fn status(&self) -> &'static str {
        if self.disabled != 0 {
            "Disabled"
        } else if self.locked != 0 {
            "Locked"
        } else if self.must_change_password != 0 {
            "Must change password"
        } else {
            "Active"
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn mfa_enabled(&self) -> bool {
        self.totp_secret.is_some()
    }

    pub fn role_labels(&self) -> String {
        self.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
    }

    pub fn last_login(&self) -> String {
        self.last_login_at.map(crate::web::format_instant).unwrap_or_else(|| "never".into())
    }

    /// What an audit entry records of the account (never the hash).
    pub fn snapshot(&self) -> AccountSnapshot {
        AccountSnapshot {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            roles: self.roles.iter().map(|r| r.as_str().to_string()).collect(),
            disabled: self.disabled != 0,
            locked: self.locked != 0,
            two_step: self.mfa_enabled(),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AccountSnapshot {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub locked: bool,
    pub two_step: bool,
}

/// The create-user form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A validated new account.
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub roles: Vec<Role>,
    pub must_change_password: bool,
}

pub fn validate_username(errors: &mut FieldErrors, username: &str) {
    let ok_chars =
        username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if username.len() < 3 || username.len() > 64 || !ok_chars {
        errors
            .add("username", "Use 3 to 64 characters: lower-case letters, digits, dot, dash or underscore.");
    }
}

/// The roles chosen, each one of `allowed` (an agency's form offers the
/// agency's five; the state's offers the state's three).
pub fn parse_roles(errors: &mut FieldErrors, values: &[String], allowed: &[Role]) -> Vec<Role> {
    let mut roles: Vec<Role> =
        values.iter().filter_map(|v| Role::parse(v)).filter(|r| allowed.contains(r)).collect();
    roles.sort();
    roles.dedup();
    if roles.is_empty() || roles.len() != values.iter().collect::<std::collections::BTreeSet<_>>().len() {
        errors.add("roles", "Choose at least one role from the list.");
    }
    roles
}

impl NewUserForm {
    /// Checks the form; every role must be one of `allowed`.
    pub fn validate(&self, allowed: &[Role]) -> Result<NewUser, FieldErrors> {
        let mut errors = FieldErrors::default();
        let username = self.username.trim().to_string();
        validate_username(&mut errors, &username);
        let display_name = self.display_name.trim().to_string();
        if display_name.is_empty() || display_name.chars().count() > 100 {
            errors.add("display_name", "Enter the person's name (up to 100 characters).");
        }
        if let Err(why) = crate::auth::password::check_new(&self.password, &username) {
            errors.add("password", why);
        }
        let roles = parse_roles(&mut errors, &self.roles, allowed);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewUser {
            username,
            display_name,
            password: self.password.clone(),
            roles,
            must_change_password: true,
        })
    }

    pub fn has_role(&self, role: &Role) -> bool {
        self.roles.iter().any(|r| r == role.as_str())
    }
}
