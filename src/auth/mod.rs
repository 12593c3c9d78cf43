//! Who is signed in and what they may do: roles, the session rules of
//! docs/security.md (idle and absolute limits enforced here, on the server), and
//! the access guard every route declares.

pub mod mfa;
pub mod password;
pub mod routes;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::app::AppState;
use crate::audit::{self, Actor, Event, Outcome};
use crate::db::now_unix;
use crate::error::AppError;
use crate::users;

/// The five roles of an agency (docs/security.md) and the three of a
/// state (docs/tenancy.md), who belong to no agency; a user may hold
/// several of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Administrator,
    Clerk,
    Supervisor,
    Reviewer,
    Auditor,
    StateAdministrator,
    StateReviewer,
    StateAuditor,
}

impl Role {
    /// An agency's roles.
    pub const ALL: [Role; 5] =
        [Role::Administrator, Role::Clerk, Role::Supervisor, Role::Reviewer, Role::Auditor];

    /// A state's roles: agencies and their first administrator; every
    /// agency's measures, dashboards and reports; those plus downloads,
    /// verification and each agency's audit log.
    pub const STATE: [Role; 3] = [Role::StateAdministrator, Role::StateReviewer, Role::StateAuditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Clerk => "clerk",
            Role::Supervisor => "supervisor",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
            Role::StateAdministrator => "state-administrator",
            Role::StateReviewer => "state-reviewer",
            Role::StateAuditor => "state-auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "Administrator",
            Role::Clerk => "Records clerk",
            Role::Supervisor => "Supervisor",
            Role::Reviewer => "Oversight reviewer",
            Role::Auditor => "Auditor",
            Role::StateAdministrator => "State administrator",
            Role::StateReviewer => "State reviewer",
            Role::StateAuditor => "State auditor",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().chain(Role::STATE).find(|r| r.as_str() == value)
    }

    pub fn is_state(self) -> bool {
        Role::STATE.contains(&self)
    }
}

/// Route access sets, named for what they protect.
pub mod access {
    use super::Role;
    pub const SIGNED_IN: &[Role] = &[
        Role::Administrator,
        Role::Clerk,
        Role::Supervisor,
        Role::Reviewer,
        Role::Auditor,
        Role::StateAdministrator,
        Role::StateReviewer,
        Role::StateAuditor,
    ];
    /// An agency's pages: every agency role (a state user has none).
    pub const AGENCY_USERS: &[Role] = &Role::ALL;
    /// The state's views of every agency's measures, dashboards and reports.
    pub const STATE_VIEWERS: &[Role] = &[Role::StateReviewer, Role::StateAuditor];
    pub const STATE_ADMINISTRATORS: &[Role] = &[Role::StateAdministrator];
    pub const STATE_AUDITORS: &[Role] = &[Role::StateAuditor];
    pub const ADMINISTRATORS: &[Role] = &[Role::Administrator];
    pub const RECORDS_WRITERS: &[Role] = &[Role::Clerk];
    pub const AUDITORS: &[Role] = &[Role::Auditor];
    /// Stop, arrest and complaint records (no names of people arrested).
    pub const RECORD_READERS: &[Role] = &[Role::Clerk, Role::Supervisor, Role::Reviewer, Role::Auditor];
    /// The compliance roster and training measures.
    pub const ROSTER_READERS: &[Role] = &[Role::Clerk, Role::Supervisor, Role::Reviewer, Role::Auditor];
}

/// The signed-in user, placed in request extensions by `load_user`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// The user's agency (`agency::Scope::of_user`); none for a state user.
    pub agency: Option<i64>,
    pub roles: Vec<Role>,
}

impl CurrentUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }
    pub fn role_list(&self) -> String {
        self.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// What the session remembers of a sign-in. The password is never here;
/// `epoch` must match the user's, so bumping it ends every session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignIn {
    pub user_id: i64,
    pub epoch: i64,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

pub const SIGN_IN_KEY: &str = "sign_in";
const ENDED_KEY: &str = "ended";

/// Why a session stopped being valid, shown on the sign-in page.
pub fn ended_message(code: &str) -> Option<&'static str> {
    match code {
        "idle" => Some("You were signed out after a period without activity. Sign in again."),
        "absolute" => Some("Your session reached its maximum length. Sign in again."),
        "revoked" => Some(
            "Your session was ended (password change, account change or by an administrator). Sign in again.",
        ),
        _ => None,
    }
}

/// Loads the signed-in user for every request, ending sessions that are
/// idle, too old, revoked or of a disabled account, and keeps a user who
/// must change their password on the change page.
pub async fn load_user(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Some(sign_in) = session.get::<SignIn>(SIGN_IN_KEY).await? {
        let now = now_unix();
        let idle = now - sign_in.last_seen_at > state.config.idle_timeout.as_secs() as i64;
        let too_old = now - sign_in.signed_in_at > state.config.absolute_timeout.as_secs() as i64;
        let found = users::store::for_session(&state.db, sign_in.user_id).await?;
        let (account, mfa_policy) = match found {
            Some(found) => {
                request.extensions_mut().insert(found.head);
                (Some(found.account), found.mfa_policy)
            }
            None => (None, String::new()),
        };
        let revoked = account.as_ref().is_none_or(|a| a.session_epoch != sign_in.epoch);
        if idle || too_old || revoked {
            let why = if revoked {
                "revoked"
            } else if idle {
                "idle"
            } else {
                "absolute"
            };
            session.flush().await?;
            session.insert(ENDED_KEY, why).await?;
        } else if let Some(account) = account {
            // Saving the session costs a write transaction, so the last-seen
            // stamp moves only when it is stale by a twentieth of the idle
            // limit (at most a minute): a user is never signed out more than
            // that early, and a page read stays a read.
            let step = (state.config.idle_timeout.as_secs() as i64 / 20).min(60);
            if now - sign_in.last_seen_at > step {
                session.insert(SIGN_IN_KEY, SignIn { last_seen_at: now, ..sign_in }).await?;
            }
            let must_change = account.must_change_password != 0;
            let must_enrol = !account.mfa_enabled() && mfa::required(&mfa_policy, &account.roles);
            request.extensions_mut().insert(account.into_current());
            let path = request.uri().path();
            let always_open = path == "/logout" || path.starts_with("/static/");
            if must_change && !always_open && path != "/account/password" {
                return Ok(Redirect::to("/account/password").into_response());
            }
            if must_enrol && !must_change && !always_open && path != "/account/mfa" {
                return Ok(Redirect::to("/account/mfa").into_response());
            }
        }
    }
    Ok(next.run(request).await)
}

/// The guard every route layer declares: anonymous requests go to sign-in
/// (and come back afterwards); signed-in users without one of `roles` get
/// the 403 page, and the denial is audited.
pub async fn guard(
    State((state, roles)): State<(AppState, &'static [crate::auth::Role])>,
    session: Session,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let Some(user) = request.extensions().get::<CurrentUser>().cloned() else {
        let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let ended = session.remove::<String>(ENDED_KEY).await?;
        let mut location = format!("/login?next={}", urlencode(target));
        if let Some(why) = ended {
            location.push_str(&format!("&ended={why}"));
        }
        return Ok(Redirect::to(&location).into_response());
    };
    if user.has_any(roles) {
        return Ok(next.run(request).await);
    }
    let (parts, _) = request.into_parts();
    let actor = Actor::from_parts(&parts);
    let event = Event::new("access.denied", "route", parts.uri.path())
        .outcome(Outcome::Denied)
        .details(serde_json::json!({ "method": parts.method.as_str() }));
    audit::record_alone(&state.db, &actor, event).await?;
    Err(AppError::Forbidden)
}

/// Refuses an object the user's role may not reach (a route may be open
/// to the role while one of its records is not), and audits the denial.
pub async fn deny<T>(db: &crate::db::Db, actor: &Actor, object: &str) -> Result<T, AppError> {
    let event = Event::new("access.denied", "object", object).outcome(Outcome::Denied);
    audit::record_alone(db, actor, event).await?;
    Err(AppError::Forbidden)
}

pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A response that sends the browser back to a page after a POST.
pub fn see_other(location: &str) -> Response {
    (axum::http::StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response()
}
