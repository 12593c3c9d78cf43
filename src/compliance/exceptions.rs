//! Compliance exceptions (docs/authorization.md): a 287(g) action by an
//! officer not authorized for it on its date. One rule decides them for
//! every write path: the stop and arrest stores set them from `Authority`
//! whenever they write a record (forms, imports, the demo), ignoring any
//! value a caller or a file brings; and a correction of an officer's
//! designations, training, status or the course catalog recomputes the
//! exceptions of the actions it touches, in the same transaction.

use std::collections::HashMap;

use serde_json::json;

use super::{ActionKind, exception};
use crate::arrests::Arrest;
use crate::audit::{self, Actor, Event};
use crate::officers::Officer;
use crate::officers::authorization::EvidenceSet;
use crate::stops::Stop;
use crate::web::parse_date;

/// The officers and their evidence as a transaction sees them.
pub struct Authority {
    officers: HashMap<i64, Officer>,
    evidence: EvidenceSet,
}

impl Authority {
    /// Read inside the caller's transaction (of its agency), so what it
    /// wrote counts.
    pub async fn load(tx: &mut crate::db::Tx) -> Result<Self, sqlx::Error> {
        let officers = crate::officers::store::all_in(tx).await?.into_iter().map(|o| (o.id, o)).collect();
        let evidence = crate::officers::store::evidence_in(tx).await?;
        Ok(Self { officers, evidence })
    }

    /// Why the officer's actions of `kinds` on `date` are an exception,
    /// "" when they were within the officer's authority (or no action).
    fn judge(&self, officer_id: Option<i64>, date: &str, kinds: &[(ActionKind, &str)]) -> String {
        let (Some(officer), Some(date)) =
            (officer_id.and_then(|id| self.officers.get(&id)), parse_date(date))
        else {
            return String::new();
        };
        let evidence = self.evidence.of(officer.id);
        let reasons: Vec<String> = kinds
            .iter()
            .filter_map(|(kind, what)| {
                exception(officer, &evidence, *kind, date)
                    .map(|r| if what.is_empty() { r } else { format!("{r} for the {what}") })
            })
            .collect();
        reasons.join("; ")
    }

    pub fn stop(&self, stop: &Stop) -> String {
        if !stop.needs_sign_off() {
            return String::new();
        }
        self.judge(stop.officer_id, &stop.stop_date, &[(ActionKind::FieldStop, "")])
    }

    pub fn arrest(&self, arrest: &Arrest) -> String {
        let kinds: Vec<(ActionKind, &str)> = [
            (arrest.detainer_lodged != 0, ActionKind::Detainer, "detainer"),
            (arrest.removal_paperwork != 0, ActionKind::RemovalPaperwork, "removal paperwork"),
            (arrest.warrant_served != 0, ActionKind::WarrantService, "warrant service"),
        ]
        .into_iter()
        .filter(|(taken, _, _)| *taken)
        .map(|(_, kind, what)| (kind, what))
        .collect();
        self.judge(arrest.officer_id, &arrest.arrest_date, &kinds)
    }
}

/// After a correction of `officer`'s evidence (every officer's, for a
/// change to the course catalog), recomputes the exceptions of their
/// 287(g) actions inside the same transaction, and records what changed
/// in one audit entry. Returns how many records changed.
pub async fn refresh(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    officer: Option<i64>,
) -> Result<usize, sqlx::Error> {
    let authority = Authority::load(tx).await?;
    let mut changed = Vec::new();
    for stop in crate::stops::store::actions_in(tx, officer).await? {
        let now = authority.stop(&stop);
        if now != stop.exception {
            crate::stops::store::set_exception(tx, stop.id, &now).await?;
            changed.push(json!({ "kind": "stop", "id": stop.id, "before": stop.exception, "after": now }));
        }
    }
    for arrest in crate::arrests::store::actions_in(tx, officer).await? {
        let now = authority.arrest(&arrest);
        if now != arrest.exception {
            crate::arrests::store::set_exception(tx, arrest.id, &now).await?;
            changed
                .push(json!({ "kind": "arrest", "id": arrest.id, "before": arrest.exception, "after": now }));
        }
    }
    if !changed.is_empty() {
        let id = officer.map(|id| id.to_string()).unwrap_or_default();
        let event = Event::new("compliance.exceptions", "officer", id).details(json!({ "records": changed }));
        audit::record(tx, actor, event).await?;
    }
    Ok(changed.len())
}
