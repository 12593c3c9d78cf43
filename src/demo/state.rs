//! `oversight demo --state`: eleven more agencies of Florida beside the demo
//! agency, of different sizes, three of them with a problem a commission
//! should spot (docs/tenancy.md): one whose searches of Hispanic drivers
//! seldom find anything, one whose supervisors sign off days late, and one
//! that stopped recording stops months ago. Every record goes through the
//! same store functions as the demo agency's.

use rand::{Rng, SeedableRng};
use time::Duration;

use super::{demo_account, demo_designations, demo_officer, demo_stop, demo_training, insert_stops};
use crate::agency::{self, Profile};
use crate::audit::Actor;
use crate::auth::Role;
use crate::db::Db;
use crate::users::{self, NewUser};

/// (username, password, role) of the state's demo accounts.
pub const STATE_SIGN_INS: [(&str, &str, Role); 3] = [
    ("state.admin", "harbor lantern 61", Role::StateAdministrator),
    ("state.reviewer", "meadow compass 73", Role::StateReviewer),
    ("state.auditor", "quarry beacon 85", Role::StateAuditor),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Problem {
    None,
    /// Searches of Hispanic drivers find contraband a fifth as often.
    FewHitsForOneGroup,
    /// Supervisors sign 287(g) actions off four to sixteen days after.
    LateSignOffs,
    /// No stop recorded in the last 150 days.
    StoppedReporting,
}

struct Plan {
    ori: &'static str,
    stops: usize,
    officers: usize,
    problem: Problem,
}

/// Sheriffs of Florida from the list of agreements, largest first, with a
/// year's stops roughly in proportion to the population they police.
const PLANS: [Plan; 11] = [
    Plan { ori: "FL0060000", stops: 9_000, officers: 30, problem: Problem::None },
    Plan { ori: "FL0500000", stops: 8_000, officers: 28, problem: Problem::FewHitsForOneGroup },
    Plan { ori: "FL0290000", stops: 8_000, officers: 30, problem: Problem::None },
    Plan { ori: "FL0360000", stops: 5_000, officers: 20, problem: Problem::LateSignOffs },
    Plan { ori: "FL0530000", stops: 5_000, officers: 20, problem: Problem::None },
    Plan { ori: "FL0050000", stops: 4_000, officers: 16, problem: Problem::StoppedReporting },
    Plan { ori: "FL0590000", stops: 3_000, officers: 14, problem: Problem::None },
    Plan { ori: "FL0420000", stops: 2_500, officers: 12, problem: Problem::None },
    Plan { ori: "FL0030000", stops: 1_500, officers: 10, problem: Problem::None },
    Plan { ori: "FL0180000", stops: 800, officers: 8, problem: Problem::None },
    Plan { ori: "FL0440000", stops: 500, officers: 6, problem: Problem::None },
];

/// Adds the eleven agencies and the state's users to a database that holds
/// the demo agency; returns the state's sign-ins.
pub async fn seed(db: &Db) -> anyhow::Result<Vec<(String, String, &'static str)>> {
    let actor = Actor::system("demo seed");
    for (n, plan) in PLANS.iter().enumerate() {
        seed_agency(db, &actor, plan, n as u64).await?;
    }
    for sign_in in STATE_SIGN_INS {
        let (user, hash) = demo_account(sign_in).await?;
        users::store::create_state_user(db, &actor, &user, &hash)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    // The demo's sign-ins are printed for anyone to try (as the agency's).
    agency::store::set_state_mfa_policy(db, &actor, "optional").await?;
    Ok(STATE_SIGN_INS.iter().map(|(u, p, r)| (u.to_string(), p.to_string(), r.label())).collect())
}

async fn seed_agency(db: &Db, actor: &Actor, plan: &Plan, n: u64) -> anyhow::Result<()> {
    let found = agency::agreements::lookup(plan.ori)
        .ok_or_else(|| anyhow::anyhow!("{} is not in the list of agreements", plan.ori))?;
    let today = agency::today_in("America/New_York");
    let profile = Profile {
        name: found.name,
        ori: plan.ori.into(),
        state: found.state.into(),
        models: found.models.join(","),
        agreement_signed: Some(crate::web::format_date(today - Duration::days(500))),
        agreement_renewed: None,
        login_banner: agency::DEFAULT_BANNER.into(),
        time_zone: if plan.ori == "FL0030000" { "America/Chicago" } else { "America/New_York" }.into(),
        mfa_policy: "optional".into(),
        paper_size: "letter".into(),
        retention_days: None,
    };
    let scope = &agency::store::add(db, actor, &profile).await?;
    let courses: Vec<i64> =
        crate::training::store::courses(scope, scope).await?.iter().map(|c| c.id).collect();
    let mut supervisors = Vec::new();
    for i in 0..plan.officers {
        let officer = demo_officer(i, today, &supervisors);
        let id = crate::officers::store::create(scope, actor, &officer).await?;
        if officer.rank == "Sergeant" || officer.rank == "Lieutenant" {
            supervisors.push(id);
        }
        let designations = demo_designations(i, today);
        for designation in &designations {
            crate::officers::store::add_designation(scope, actor, id, designation).await?;
        }
        for mut record in demo_training(i, today, &designations) {
            // The demo's courses are numbered as the first agency's.
            record.course_id =
                courses.get(record.course_id as usize - 1).copied().unwrap_or(record.course_id);
            crate::training::store::add_record(scope, actor, id, &record).await?;
        }
    }
    let officers = crate::officers::store::list(scope, &Default::default()).await?;
    let patrol: Vec<&crate::officers::Officer> = officers.iter().filter(|o| o.status == "active").collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2870 + n);
    let first_day = if plan.problem == Problem::StoppedReporting { 150 } else { 1 };
    let mut stops: Vec<crate::stops::Stop> = (0..plan.stops)
        .map(|_| {
            let officer = patrol[rng.gen_range(0..patrol.len())];
            let date = today - Duration::days(rng.gen_range(first_day..=365));
            demo_stop(&mut rng, officer, date)
        })
        .collect();
    if plan.problem == Problem::FewHitsForOneGroup {
        for stop in stops.iter_mut().filter(|s| s.perceived_race == ",hispanic," && s.contraband == ",drugs,")
        {
            if rng.gen_bool(0.8) {
                stop.contraband = ",none,".into();
            }
        }
    }
    insert_stops(scope, actor, stops).await?;
    sign_off(scope, actor, plan, &mut rng).await
}

/// A supervisor signs off the agency's 287(g) actions: within a day or two,
/// or days late where that is the agency's problem.
async fn sign_off(
    scope: &agency::Scope,
    actor: &Actor,
    plan: &Plan,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<()> {
    use crate::supervision::{Decision, store as sign};
    let hash = crate::auth::password::Hasher::default().hash(&crate::web::random_token(24)).await?;
    let supervisor = NewUser {
        username: format!("sgt.{}", plan.ori.to_lowercase()),
        display_name: "Demo supervisor".into(),
        password: String::new(),
        roles: vec![Role::Supervisor],
        must_change_password: true,
    };
    let id =
        users::store::create(scope, actor, &supervisor, &hash).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let reviewer = sign::reviewer(scope, id).await?;
    let now = crate::db::now_unix();
    for item in sign::items(scope, &[], "America/New_York").await? {
        if now - item.action_at < 2 * 86_400 {
            continue;
        }
        let hours: i64 = if plan.problem == Problem::LateSignOffs {
            rng.gen_range(100..=400)
        } else {
            rng.gen_range(2..=40)
        };
        let at = (item.action_at + hours * 3600).min(now - 600);
        let record = sign::load(scope, scope, item.kind, item.id).await?;
        sign::insert_past(scope, actor, &record, &reviewer, Decision::Approved, "", at, "America/New_York")
            .await?;
    }
    Ok(())
}
