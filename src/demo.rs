//! The demo database: a real agency from the public 287(g) list (Collier
//! County Sheriff's Office, FL0110000, Jail Enforcement and Task Force
//! models), one user per role, and a roster of officers in every
//! designation state. Every record goes through the same store functions
//! as the web forms, so the audit log holds a true chain from the start.

pub mod state;

use std::path::Path;

use time::{Date, Duration};

use crate::agency::{self, Profile, Scope};
use crate::audit::{self, Actor, Event};
use crate::auth::Role;
use crate::db::{self, Db};
use crate::documents::files::FileStore;
use crate::documents::store::{NewDocument, Upload};
use crate::officers::{self, Designation, Officer};
use crate::training::TrainingRecord;
use crate::users::{self, NewUser};
use crate::web::format_date;
use crate::{documents, training};

pub const DEFAULT_URL: &str = "sqlite://data/demo.db";

/// (username, password, role) of each demo account.
pub const SIGN_INS: [(&str, &str, Role); 5] = [
    ("admin", "copper kettle 17", Role::Administrator),
    ("clerk", "maple ledger 24", Role::Clerk),
    ("supervisor", "granite signal 31", Role::Supervisor),
    ("reviewer", "willow beacon 48", Role::Reviewer),
    ("auditor", "cobalt harbor 52", Role::Auditor),
];

const LAST: [&str; 24] = [
    "Alvarez",
    "Bennett",
    "Nguyễn",
    "Carter",
    "Wójcik",
    "Delgado",
    "Ellison",
    "Fischer",
    "García",
    "Hughes",
    "Ibáñez",
    "Jackson",
    "Kowalski",
    "Lopez",
    "Morrison",
    "Novak",
    "O'Neill",
    "Patel",
    "Quintero",
    "Reyes",
    "Sørensen",
    "Thompson",
    "Underwood",
    "Vasquez",
];
const FIRST: [&str; 16] = [
    "Maria",
    "James",
    "Anh",
    "Robert",
    "Łukasz",
    "Carmen",
    "David",
    "Sarah",
    "José",
    "Michael",
    "Lucía",
    "Tyrone",
    "Agnieszka",
    "Daniel",
    "Priya",
    "Kevin",
];
const UNITS: [&str; 4] =
    ["Detention Bureau", "Patrol District 2", "Criminal Investigations", "Warrants Unit"];
const RANKS: [&str; 4] = ["Deputy", "Corporal", "Sergeant", "Lieutenant"];

/// Creates the demo database at `url`, replacing an earlier demo database
/// there (and refusing to touch any other database).
pub async fn create(url: &str, files: &Path) -> anyhow::Result<Vec<(String, String, &'static str)>> {
    let pool = fresh(url, files).await?;
    seed(&pool, &FileStore::new(files)).await?;
    Ok(SIGN_INS.iter().map(|(u, p, r)| (u.to_string(), p.to_string(), r.label())).collect())
}

/// Creates the demo of a state's deployment at `url` (`oversight demo
/// --state`): the demo agency and eleven more agencies of Florida from the
/// list of agreements, of different sizes and patterns, and one user of
/// each state role. Returns the sign-ins: the state's, then the demo
/// agency's administrator.
pub async fn create_state(url: &str, files: &Path) -> anyhow::Result<Vec<(String, String, &'static str)>> {
    let pool = fresh(url, files).await?;
    let files = FileStore::new(files);
    seed(&pool, &files).await?;
    let mut sign_ins = state::seed(&pool).await?;
    let (user, password, role) = SIGN_INS[0];
    sign_ins.push((user.to_string(), password.to_string(), role.label()));
    Ok(sign_ins)
}

/// A new, migrated database at `url` where an earlier demo may have been:
/// an earlier demo is removed first, any other database refused.
async fn fresh(url: &str, files: &Path) -> anyhow::Result<Db> {
    if !url.starts_with("sqlite:") {
        clear_server_demo(url, files).await?;
        return db::connect(url).await;
    }
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if Path::new(path).exists() {
        let existing = db::connect(url).await?;
        let (seeded,): (i64,) = db::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'demo.seed'")
            .fetch_one(&existing)
            .await?;
        existing.close().await;
        if seeded == 0 {
            anyhow::bail!(
                "{path} holds a database that was not made by `oversight demo`; it is left untouched. Choose another --database-url."
            );
        }
        for suffix in ["", "-wal", "-shm"] {
            // SQLite may still be removing its journal files as the last
            // connection closes: one already gone is what was wanted.
            match std::fs::remove_file(format!("{path}{suffix}")) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        if files.exists() {
            std::fs::remove_dir_all(files)?;
        }
    }
    db::connect(url).await
}

/// On a server (PostgreSQL), an earlier demo's tables are dropped, as the
/// file is deleted on SQLite; a database with any other records is left
/// untouched.
async fn clear_server_demo(url: &str, files: &Path) -> anyhow::Result<()> {
    let existing = db::connect(url).await?;
    let (entries, seeded): (i64, i64) = db::query_as(
        "SELECT COUNT(*), CAST(SUM(CASE WHEN action = 'demo.seed' THEN 1 ELSE 0 END) AS BIGINT) FROM audit_log",
    )
    .fetch_one(&existing)
    .await
    .map(|(n, s): (i64, Option<i64>)| (n, s.unwrap_or(0)))?;
    if entries > 0 && seeded == 0 {
        anyhow::bail!(
            "that database holds records that were not made by `oversight demo`; it is left untouched. Choose another --database-url."
        );
    }
    if entries > 0 {
        for sql in [
            "DROP SCHEMA public CASCADE",
            "CREATE SCHEMA public",
            "DROP SCHEMA IF EXISTS tower_sessions CASCADE",
        ] {
            db::query(sql).execute(&existing).await?;
        }
        if files.exists() {
            std::fs::remove_dir_all(files)?;
        }
    }
    existing.close().await;
    Ok(())
}

/// Seeds the fresh database `pool`, which holds one agency (migration
/// 0001 inserts it): the demo agency.
pub async fn seed(pool: &Db, files: &FileStore) -> anyhow::Result<()> {
    let scope = &agency::Scope::for_command(pool, None).await?;
    let actor = Actor::system("demo seed");
    audit::record_in(scope, &actor, Event::new("demo.seed", "database", "")).await?;
    // The agency's today, not the server's: records are never dated after it.
    let today = agency::today_in("America/New_York");
    let profile = Profile {
        name: "Collier County Sheriff's Office".into(),
        ori: "FL0110000".into(),
        state: "FL".into(),
        models: "JEM,TFM".into(),
        agreement_signed: Some(format_date(today - Duration::days(600))),
        agreement_renewed: Some(format_date(today - Duration::days(120))),
        login_banner: agency::DEFAULT_BANNER.into(),
        time_zone: "America/New_York".into(),
        // The demo's sign-ins are printed for anyone to try, so it does not
        // demand an authenticator app; a real agency keeps the default.
        mfa_policy: "optional".into(),
        paper_size: "letter".into(),
        retention_days: None,
    };
    agency::store::update(scope, &actor, &profile).await?;
    for sign_in in SIGN_INS {
        let (user, hash) = demo_account(sign_in).await?;
        users::store::create(scope, &actor, &user, &hash).await?;
    }
    let mut supervisors = Vec::new();
    for i in 0..48usize {
        let officer = demo_officer(i, today, &supervisors);
        let id = officers::store::create(scope, &actor, &officer).await?;
        if officer.rank == "Sergeant" || officer.rank == "Lieutenant" {
            supervisors.push(id);
        }
        let designations = demo_designations(i, today);
        for designation in &designations {
            officers::store::add_designation(scope, &actor, id, designation).await?;
        }
        for (n, record) in demo_training(i, today, &designations).into_iter().enumerate() {
            let record_id = training::store::add_record(scope, &actor, id, &record).await?;
            if n == 0 && i < 8 && record.scores.split(',').any(|s| s.parse::<i64>().is_ok_and(|v| v >= 70)) {
                let title = format!("Training certificate, {} {}", officer.first_name, officer.last_name);
                let doc = NewDocument {
                    title: title.clone(),
                    kind: "certificate".into(),
                    officer_id: Some(id),
                    training_record_id: Some(record_id),
                };
                attach(scope, files, &actor, &doc, "certificate.pdf", &demo_pdf(&title)).await?;
            }
        }
    }
    let moa = NewDocument {
        title: "287(g) Memorandum of Agreement".into(),
        kind: "agreement".into(),
        officer_id: None,
        training_record_id: None,
    };
    attach(
        scope,
        files,
        &actor,
        &moa,
        "moa-2025.pdf",
        &demo_pdf("Memorandum of Agreement: Collier County Sheriff's Office and U.S. ICE"),
    )
    .await?;
    let sop = NewDocument {
        title: "SOP 287(g)-4: supervisor review of 287(g) actions".into(),
        kind: "sop".into(),
        officer_id: None,
        training_record_id: None,
    };
    let sop_text = "SOP 287(g)-4\n\nEvery 287(g) action is reviewed by a named supervisor within 3 days.\nNobody reviews their own action.\n";
    attach(scope, files, &actor, &sop, "sop-287g-4.txt", sop_text.as_bytes()).await?;
    seed_records(scope, &actor, today).await?;
    seed_sign_offs(scope, &actor).await?;
    seed_oversight(scope, &actor, today).await?;
    Ok(())
}

/// The demo officer whose stops carry a planted pattern for the
/// early-warning list to find: three in ten of the stops that would have
/// been of another group are of Hispanic/Latino drivers (synthetic, as
/// every demo record).
pub const DEMO_PLANTED_OFFICER: &str = "CC-1121";

/// Stops per year in the demo: a mid-sized county's patrol volume.
pub const DEMO_STOPS: usize = 21_000;

/// A year of stops, arrests, complaints, pay and leads. Stops go in through
/// the bulk path with one audit entry, as an import would.
async fn seed_records(scope: &Scope, actor: &Actor, today: Date) -> anyhow::Result<()> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(287);
    let officers = officers::store::list(scope, &Default::default()).await?;
    let evidence = officers::store::evidence(scope).await?;
    let patrol: Vec<&Officer> = officers.iter().filter(|o| o.status == "active").collect();
    let mut stops = Vec::with_capacity(DEMO_STOPS);
    // Its own stream, so the other records stay as they were.
    let mut planted = rand::rngs::StdRng::seed_from_u64(1121);
    for _ in 0..DEMO_STOPS {
        let officer = patrol[rng.gen_range(0..patrol.len())];
        let date = today - Duration::days(rng.gen_range(1..=365));
        let mut stop = demo_stop(&mut rng, officer, date);
        if officer.badge == DEMO_PLANTED_OFFICER && planted.gen_range(0..100) < 30 {
            stop.perceived_race = ",hispanic,".into();
        }
        stops.push(stop);
    }
    stops.sort_by(|a, b| (&a.stop_date, &a.stop_time).cmp(&(&b.stop_date, &b.stop_time)));
    insert_stops(scope, actor, stops).await?;

    // Arrests follow some of the stops that ended in a custodial arrest.
    let arrested: Vec<(i64, String, Option<i64>, String)> = db::query_as(
        "SELECT id, stop_date, officer_id, perceived_race FROM stops WHERE results LIKE '%,arrest_%' AND agency_id = $1 \
         ORDER BY (id * 7919) % 10007 LIMIT 400",
    )
    .bind(scope.id())
    .fetch_all(scope)
    .await?;
    let names = ["Luis", "Dana", "Marcus", "Elena", "Tomás", "Grace", "Yusuf", "Hannah", "Minh", "Oksana"];
    for (n, (stop_id, date, officer_id, race)) in arrested.into_iter().enumerate() {
        let level = ["1", "2", "3", "3", "3", "none"][n % 6];
        let detainer = n % 9 == 0;
        let arrest = crate::arrests::Arrest {
            arrest_date: date.clone(),
            arrest_time: format!("{:02}:{:02}", 8 + n % 14, (n * 7) % 60),
            officer_id,
            stop_id: Some(stop_id),
            person_name: format!("{} {}", names[n % names.len()], LAST[(n * 3) % LAST.len()]),
            person_dob: Some(format_date(today - Duration::days(6_900 + (n as i64 * 97) % 14_000))),
            charges: [
                "Driving with a suspended license",
                "Possession of a controlled substance",
                "Battery",
                "Petit theft",
                "Outstanding warrant",
            ][n % 5]
                .into(),
            offense_class: ["misdemeanor", "felony", "misdemeanor", "infraction"][n % 4].into(),
            priority_level: level.into(),
            arrest_type: ["on_view", "warrant", "on_view", "summons"][n % 4].into(),
            detainer_lodged: detainer as i64,
            removal_paperwork: (detainer && n % 2 == 0) as i64,
            perceived_race: race,
            perceived_gender: if n % 3 == 0 { "female".into() } else { "male".into() },
            perceived_age: Some(19 + (n as i64 * 7) % 45),
            ..Default::default()
        };
        crate::arrests::store::create(scope, actor, &arrest).await?;
    }

    for n in 0..36usize {
        let received = today - Duration::days(10 + (n as i64 * 9) % 350);
        let closed = n % 3 != 0;
        let officer = patrol[(n * 5) % patrol.len()];
        let complaint = crate::complaints::Complaint {
            received_on: format_date(received),
            channel: ["phone", "online", "in_person", "email", "mail", "referral"][n % 6].into(),
            allegation: [
                "discourtesy",
                "profiling",
                "unlawful_stop_search_arrest",
                "excessive_force",
                "other",
            ][n % 5]
                .into(),
            summary: "Complaint received from a member of the public about a stop on a county road.".into(),
            officers: format!(",{},", officer.id),
            forwarded_to: if n % 4 == 0 { ",ice_opr,".into() } else { String::new() },
            forwarded_on: (n % 4 == 0).then(|| format_date(received + Duration::days(2 + n as i64 % 9))),
            disposition: if closed {
                ["not_sustained", "sustained", "exonerated", "unfounded"][n % 4].into()
            } else {
                "pending".into()
            },
            closed_on: closed
                .then(|| format_date((received + Duration::days(20 + n as i64 % 40)).min(today))),
            ..Default::default()
        };
        crate::complaints::store::create(scope, actor, &complaint).await?;
    }

    // Pay every two weeks and leads each quarter for the task force.
    let task_force: Vec<&Officer> = officers
        .iter()
        .filter(|o| {
            evidence.of(o.id).designations.iter().any(|d| d.model == "TFM") && o.status != "separated"
        })
        .collect();
    for (k, officer) in task_force.iter().enumerate() {
        let salary = officer.annual_salary_cents.unwrap_or(6_000_000);
        for period in 0..26i64 {
            let start = today - Duration::days(14 * (period + 1));
            let hours = ((k as i64 * 3 + period) % 9) as f64 * 2.0 + if k % 5 == 0 { 12.0 } else { 0.0 };
            let rate = salary / 2080 * 3 / 2;
            let pay = crate::pay::PayPeriod {
                period_start: format_date(start),
                period_end: format_date(start + Duration::days(13)),
                base_pay_cents: salary / 26,
                overtime_hours: hours,
                overtime_pay_cents: (hours * rate as f64) as i64,
                ..Default::default()
            };
            crate::pay::store::save_pay(scope, actor, officer.id, &pay)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        for q in 1..=4 {
            let quarter_day = today - Duration::days(92 * q);
            let quarter = format!("{}-Q{}", quarter_day.year(), (quarter_day.month() as u8 - 1) / 3 + 1);
            let received = 8 + ((k as i64 + q) % 7) * 2;
            let located = received - ((k as i64 * 2 + q) % 5);
            let leads =
                crate::pay::Leads { quarter, received, located: located.max(0), ..Default::default() };
            crate::pay::store::save_leads(scope, actor, officer.id, &leads)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    Ok(())
}

/// Supervisors' decisions on the 287(g) actions: most approved within a
/// day or two, some late, some returned and corrected, a few returned and
/// still waiting for the clerk, a few referred, and the latest and some
/// older ones not yet reviewed (overdue).
async fn seed_sign_offs(scope: &Scope, actor: &Actor) -> anyhow::Result<()> {
    use crate::supervision::{Decision, store as sign};
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(2870);
    let time_zone = "America/New_York";
    let agency_supervisor: i64 =
        db::query_scalar("SELECT id FROM users WHERE username = 'supervisor' AND agency_id = $1")
            .bind(scope.id())
            .fetch_one(scope)
            .await?;
    // A second reviewer, ICE's, who cannot sign in (no password is known).
    let hash = crate::auth::password::Hasher::default().hash(&crate::web::random_token(24)).await?;
    let ice = NewUser {
        username: "ice.ssa".into(),
        display_name: "SDDO R. Whitfield (ICE ERO)".into(),
        password: String::new(),
        roles: vec![Role::Supervisor],
        must_change_password: true,
    };
    let ice = users::store::create(scope, actor, &ice, &hash).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    sign::set_reviewer(scope, actor, ice, None, "ice").await?;
    let reviewers = [sign::reviewer(scope, agency_supervisor).await?, sign::reviewer(scope, ice).await?];
    let now = crate::db::now_unix();
    let items = sign::items(scope, &[], time_zone).await?;
    for item in items {
        let reviewer = &reviewers[if rng.gen_bool(0.7) { 0 } else { 1 }];
        let hours = |rng: &mut rand::rngs::StdRng| -> i64 {
            if rng.gen_bool(0.1) { rng.gen_range(80..=240) } else { rng.gen_range(2..=60) }
        };
        let at = |h: i64| (item.action_at + h * 3600 + 17 * 60).min(now - 600);
        if now - item.action_at < 2 * 86_400 || rng.gen_bool(0.07) {
            continue;
        }
        let record = sign::load(scope, scope, item.kind, item.id).await?;
        let roll: f64 = rng.r#gen();
        let first = hours(&mut rng);
        if roll < 0.06 {
            let why = "Narrative does not say how the officer learned of the immigration status; add it.";
            sign::insert_past(scope, actor, &record, reviewer, Decision::Returned, why, at(first), time_zone)
                .await?;
            let corrected = correct(scope, actor, record).await?;
            let later = first + rng.gen_range(4..=48);
            sign::insert_past(
                scope,
                actor,
                &corrected,
                reviewer,
                Decision::Approved,
                "",
                at(later),
                time_zone,
            )
            .await?;
        } else if roll < 0.09 {
            let why = match item.kind {
                crate::supervision::RecordKind::Arrest => {
                    "Detainer form number is missing; attach the I-247A."
                }
                crate::supervision::RecordKind::Stop => {
                    "Result narrative does not say why ICE was contacted."
                }
            };
            sign::insert_past(scope, actor, &record, reviewer, Decision::Returned, why, at(first), time_zone)
                .await?;
        } else if roll < 0.11 {
            let why = "Referred to the ICE ERO field office: subject claims lawful status.";
            sign::insert_past(scope, actor, &record, reviewer, Decision::Referred, why, at(first), time_zone)
                .await?;
        } else {
            sign::insert_past(scope, actor, &record, reviewer, Decision::Approved, "", at(first), time_zone)
                .await?;
        }
    }
    Ok(())
}

/// A demo account of a printed sign-in, with its password's hash.
async fn demo_account((username, password, role): (&str, &str, Role)) -> anyhow::Result<(NewUser, String)> {
    let user = NewUser {
        username: username.into(),
        display_name: format!("Demo {}", role.label().to_lowercase()),
        password: password.into(),
        roles: vec![role],
        must_change_password: false,
    };
    let hash = crate::auth::password::Hasher::default().hash(password).await?;
    Ok((user, hash))
}

/// Stops in through the bulk path with one audit entry, as an import.
async fn insert_stops(scope: &Scope, actor: &Actor, stops: Vec<crate::stops::Stop>) -> anyhow::Result<()> {
    let mut tx = scope.begin_write().await?;
    // The same rule as every other write path decides the exceptions.
    let authority = crate::compliance::exceptions::Authority::load(&mut tx).await?;
    let aggregates =
        crate::stops::aggregates::Counter::start(crate::stops::aggregates::Pending::load(&mut tx).await?);
    let count = stops.len();
    crate::stops::store::insert_many(&mut tx, &authority, stops, &aggregates).await?;
    crate::stops::store::note_sizes(&mut tx).await?;
    aggregates.finish().await?.write(&mut tx).await?;
    let event = Event::new("demo.seed", "stop", "").details(serde_json::json!({ "stops": count }));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Equity settings (Collier County's census shares and coordinates) and
/// two logged measures with a year of quarterly values, the older ones
/// confirmed.
async fn seed_oversight(scope: &Scope, actor: &Actor, today: Date) -> anyhow::Result<()> {
    // The place decides which minutes D9's aggregate keeps: set together.
    let mut tx = scope.begin_write().await?;
    db::query(
        "UPDATE agency SET population_shares = 'white=61.9; hispanic=28.6; black=6.4; asian=1.6; native_american=0.3; pacific_islander=0.1', \
         latitude = 26.142, longitude = -81.795 WHERE id = $1",
    )
    .bind(scope.id())
    .execute(&mut *tx)
    .await?;
    crate::stops::aggregates::place_changed(&mut tx).await?;
    tx.commit().await?;
    let user = |username: &'static str| {
        db::query_scalar::<i64>("SELECT id FROM users WHERE username = $1 AND agency_id = $2")
            .bind(username)
            .bind(scope.id())
            .fetch_one(scope)
    };
    let clerk = user("clerk").await?;
    let supervisor = user("supervisor").await?;
    let measures = [
        (
            "L1",
            "Removals attributed to the agreement",
            "removals ICE attributes to encounters under the agency's 287(g) agreement in the period",
            "count",
            None,
            "higher",
            "ICE ERO quarterly statistics",
        ),
        (
            "L2",
            "Steering committee meetings",
            "meetings of the 287(g) steering committee held in the period",
            "count",
            Some(1.0),
            "higher",
            "committee minutes",
        ),
    ];
    let quarter = crate::measures::Period::quarter_to_date(today).from;
    for (n, (code, name, definition, unit, target, better, source)) in measures.into_iter().enumerate() {
        let id: i64 = db::query_scalar(
            "INSERT INTO logged_measures (code, name, definition, unit, target, better, source, agency_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(code)
        .bind(name)
        .bind(definition)
        .bind(unit)
        .bind(target)
        .bind(better)
        .bind(source)
        .bind(scope.id())
        .fetch_one(scope)
        .await?;
        audit::record_in(scope, actor, Event::new("logged_measure.define", "logged_measure", id)).await?;
        let mut end = quarter - Duration::days(1);
        for q in 0..4i64 {
            let start = crate::measures::Period::quarter_to_date(end).from;
            let value = if n == 0 { 9.0 + ((q * 5) % 7) as f64 } else { (q % 2) as f64 };
            let confirmed = q > 0;
            db::query(
                "INSERT INTO logged_values (measure_id, period_from, period_to, value, source_document, logged_by, logged_by_name, \
                 logged_at, confirmed_by, confirmed_by_name, confirmed_at, agency_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'Demo records clerk', $7, $8, $9, $10, $11)",
            )
            .bind(id)
            .bind(format_date(start))
            .bind(format_date(end))
            .bind(value)
            .bind(format!("{source}, {}", format_date(end + Duration::days(10))))
            .bind(clerk)
            .bind(crate::db::now_unix())
            .bind(confirmed.then_some(supervisor))
            .bind(confirmed.then_some("Demo supervisor"))
            .bind(confirmed.then(crate::db::now_unix))
            .bind(scope.id())
            .execute(scope)
            .await?;
            let event = Event::new("logged_value.log", "logged_measure", id)
                .details(serde_json::json!({ "from": format_date(start), "to": format_date(end), "value": value, "confirmed": confirmed }));
            audit::record_in(scope, actor, event).await?;
            end = start - Duration::days(1);
        }
    }
    Ok(())
}

/// The clerk's correction after a return: the narrative completed.
async fn correct(
    scope: &Scope,
    actor: &Actor,
    record: crate::supervision::store::Record,
) -> anyhow::Result<crate::supervision::store::Record> {
    use crate::supervision::store::Record;
    Ok(match record {
        Record::Stop(mut stop) => {
            stop.result_narrative = "ICE contacted after the subject stated no lawful status.".into();
            Record::Stop(crate::stops::store::update(scope, actor, &stop).await?)
        }
        Record::Arrest(mut arrest) => {
            arrest.offense_code = "I-247A on file".into();
            Record::Arrest(crate::arrests::store::update(scope, actor, &arrest).await?)
        }
    })
}

/// One plausible stop. Differences between perceived groups follow what
/// stop-data studies commonly report (higher search rates, lower
/// contraband hit rates for some groups), so the equity measures have
/// something to show; they are synthetic, not any agency's data.
fn demo_stop(rng: &mut impl rand::Rng, officer: &Officer, date: Date) -> crate::stops::Stop {
    let race = match rng.gen_range(0..100) {
        0..=47 => "white",
        48..=75 => "hispanic",
        76..=89 => "black",
        90..=93 => "asian",
        94..=95 => "middle_eastern_south_asian",
        96..=97 => "native_american",
        _ => "pacific_islander",
    };
    let search_pct = match race {
        "hispanic" => 9,
        "black" => 11,
        _ => 5,
    };
    let hit_pct = match race {
        "white" => 32,
        _ => 22,
    };
    let vehicle = rng.gen_range(0..100) < 82;
    let searched = rng.gen_range(0..100) < search_pct;
    let found = searched && rng.gen_range(0..100) < hit_pct;
    let arrest = rng.gen_range(0..100) < if found { 45 } else { 3 };
    let immigration_pct = if race == "hispanic" { 6 } else { 1 };
    let asked = rng.gen_range(0..100) < immigration_pct;
    let action = asked && rng.gen_range(0..100) < 30;
    let mut actions = Vec::new();
    if searched {
        actions.push(if vehicle { "search_property" } else { "search_person" }.to_string());
    }
    if arrest {
        actions.push("handcuffed".into());
    }
    let mut results = vec![
        match rng.gen_range(0..100) {
            0..=44 => "citation",
            45..=84 => "warning",
            85..=94 => "field_interview",
            _ => "no_action",
        }
        .to_string(),
    ];
    if arrest {
        results = vec![
            if rng.gen_range(0..3) == 0 { "arrest_with_warrant" } else { "arrest_without_warrant" }.into(),
        ];
    }
    if action {
        // "No action" cannot go with another result (the stop form's rule).
        results.retain(|r| r != "no_action");
        results.push("contacted_ice".into());
    }
    let reason = if vehicle {
        "traffic_violation"
    } else {
        ["reasonable_suspicion", "consensual_search", "known_warrant", "other"][rng.gen_range(0..4)]
    };
    let roads = [
        "US-41 at Pine Ridge Rd",
        "Immokalee Rd at Livingston Rd",
        "Davis Blvd at Airport-Pulling Rd",
        "SR-29 at Main St",
        "Golden Gate Pkwy at Santa Barbara Blvd",
        "Collier Blvd at Rattlesnake Hammock Rd",
    ];
    let district = ["D1", "D2", "D3", "D4", "D5"][rng.gen_range(0..5)];
    crate::stops::Stop {
        stop_date: format_date(date),
        stop_time: Some(format!("{:02}:{:02}", rng.gen_range(0..24), rng.gen_range(0..60))),
        duration_minutes: Some(rng.gen_range(5..40) + if searched { 20 } else { 0 }),
        location: roads[rng.gen_range(0..roads.len())].into(),
        district: district.into(),
        lat: Some(26.1 + rng.gen_range(0.0..0.35)),
        lng: Some(-81.8 + rng.gen_range(0.0..0.4)),
        stop_type: if vehicle { "vehicle".into() } else { "pedestrian".into() },
        call_for_service: (rng.gen_range(0..100) < 12) as i64,
        officer_id: Some(officer.id),
        assignment: "Patrol".into(),
        years_of_service: Some(2 + officer.id % 20),
        perceived_race: format!(",{race},"),
        perceived_gender: if rng.gen_range(0..100) < 71 { "male".into() } else { "female".into() },
        perceived_age: Some(rng.gen_range(17..78)),
        limited_english: (race == "hispanic" && rng.gen_range(0..100) < 18) as i64,
        reason: reason.into(),
        traffic_violation: if vehicle {
            ["moving", "moving", "equipment", "non_moving"][rng.gen_range(0..4)].into()
        } else {
            String::new()
        },
        reason_narrative: if vehicle {
            "Speeding and lane violation observed on patrol".into()
        } else {
            "Matched description from call for service".into()
        },
        actions: crate::stops::pack(&actions),
        searched: searched as i64,
        search_basis: if searched { ",consent,".into() } else { String::new() },
        contraband: match (searched, found) {
            (true, true) => ",drugs,".into(),
            (true, false) => ",none,".into(),
            _ => String::new(),
        },
        results: crate::stops::pack(&results),
        immigration_status_asked: asked as i64,
        ice_contacted: action as i64,
        action_287g: action as i64,
        ..Default::default()
    }
}

/// Stores a demo file the way an upload is stored.
async fn attach(
    scope: &Scope,
    files: &FileStore,
    actor: &Actor,
    doc: &NewDocument,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let content_type = crate::documents::check_type(name, bytes).map_err(|e| anyhow::anyhow!(e))?;
    let stored = files.write(bytes)?;
    let upload = Upload {
        original_name: name.into(),
        stored_name: stored.name,
        content_type: content_type.into(),
        size_bytes: stored.size as i64,
        sha256: stored.sha256,
        note: String::new(),
    };
    documents::store::create(scope, actor, doc, &upload).await?;
    Ok(())
}

/// A one-page PDF with a title line, so demo downloads open in a viewer.
fn demo_pdf(title: &str) -> Vec<u8> {
    let text: String = title.chars().filter(|c| c.is_ascii() && !"()\\".contains(*c)).collect();
    let content =
        format!("BT /F1 14 Tf 72 720 Td ({text}) Tj 0 -24 Td (Oversight Ledger demo document) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    pdf
}

/// Training histories that match each designation, and vary: failed exams
/// passed on remediation, one disqualification, one awaiting remediation,
/// agency courses current, due soon and overdue.
fn demo_training(i: usize, today: Date, designations: &[Designation]) -> Vec<TrainingRecord> {
    let course_of = |model: &str| match model {
        "JEM" => (1, 160.0),
        "TFM" => (2, 40.0),
        _ => (3, 8.0),
    };
    let record = |course_id: i64, on: Date, hours: f64, scores: &str, provider: &str| TrainingRecord {
        id: 0,
        officer_id: 0,
        course_id,
        completed_on: format_date(on),
        hours,
        scores: scores.into(),
        provider: provider.into(),
    };
    let mut out = Vec::new();
    for d in designations {
        let (course, hours) = course_of(&d.model);
        let Some(passed) = d.training_passed_on.as_deref().and_then(crate::web::parse_date) else { continue };
        let scores = match i % 5 {
            0 => "64,82",
            _ => ["88", "91", "79", "95"][i % 4],
        };
        out.push(record(course, passed, hours, scores, "ICE Academy, Charleston SC"));
    }
    if designations.iter().any(|d| d.model == "JEM" && d.training_passed_on.is_some()) && i % 10 == 7 {
        out.push(record(4, today - Duration::days(200), 40.0, "86", "ICE Academy, Charleston SC"));
    }
    match i {
        13 => out.push(record(1, today - Duration::days(45), 160.0, "55,62", "ICE Academy, Charleston SC")),
        23 => out.push(record(1, today - Duration::days(12), 160.0, "64", "ICE Academy, Charleston SC")),
        _ => {}
    }
    if !designations.is_empty() {
        let agency_days = match i % 7 {
            2 => 400,
            4 => 350,
            _ => 30 + (i as i64 * 11) % 200,
        };
        out.push(record(5, today - Duration::days(agency_days), 4.0, "", "Agency training unit"));
    }
    out
}

fn demo_officer(i: usize, today: Date, supervisors: &[i64]) -> Officer {
    let status = match i % 16 {
        13 => "on_leave",
        15 => "separated",
        _ => "active",
    };
    Officer {
        id: 0,
        badge: format!("CC-{:04}", 1100 + i * 7),
        last_name: LAST[i % LAST.len()].into(),
        first_name: FIRST[(i * 5) % FIRST.len()].into(),
        rank: RANKS[if i % 6 == 0 { 2 + (i / 6) % 2 } else { i % 2 }].into(),
        unit: UNITS[i % UNITS.len()].into(),
        hire_date: Some(format_date(today - Duration::days(400 + (i as i64 * 173) % 6000))),
        status: status.into(),
        supervisor_id: supervisors.get(i % supervisors.len().max(1)).copied(),
        annual_salary_cents: Some((52_000 + (i as i64 * 1_350) % 30_000) * 100),
    }
}

/// Designation histories that cover every state the roster shows.
fn demo_designations(i: usize, today: Date) -> Vec<Designation> {
    let model = if i % 3 == 0 { "TFM" } else { "JEM" };
    let day = |ago: i64| Some(format_date(today - Duration::days(ago)));
    let full = |model: &str, start: i64, expires_in: i64| Designation {
        model: model.into(),
        nominated_on: day(start),
        citizenship_verified_on: day(start - 5),
        agency_background_on: day(start - 12),
        ice_background_on: day(start - 30),
        training_passed_on: day(start - 60),
        certified_on: day(start - 70),
        authorized_on: day(start - 80),
        authorization_expires_on: Some(format_date(
            today - Duration::days(start - 80) + Duration::days(expires_in),
        )),
        credential_number: format!("70-006-{:05}", 40_000 + i * 13),
        credential_received_on: day(start - 85),
        ..Default::default()
    };
    match i % 10 {
        0..=2 => vec![full(model, 300 + (i as i64 % 5) * 20, 730)],
        3 => vec![Designation {
            model: model.into(),
            nominated_on: day(20),
            citizenship_verified_on: day(15),
            ..Default::default()
        }],
        4 => {
            let mut d = full(model, 120, 730);
            d.certified_on = None;
            d.authorized_on = None;
            d.authorization_expires_on = None;
            d.credential_number.clear();
            d.credential_received_on = None;
            vec![d]
        }
        5 => vec![full(model, 900, 730)],
        6 => {
            let mut d = full(model, 500, 730);
            d.withdrawn_on = day(40);
            d.withdrawal_reason = "ICE written notice: credential misuse under review".into();
            vec![d]
        }
        7 => {
            let mut first = full(model, 800, 730);
            first.withdrawn_on = day(500);
            first.withdrawal_reason = "Reassigned out of the program".into();
            vec![first, full(model, 250, 730)]
        }
        8 => vec![full("JEM", 400, 730), full("TFM", 200, 365)],
        _ => Vec::new(),
    }
}
