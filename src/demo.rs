//! The demo database: a real agency from the public 287(g) list (Collier
//! County Sheriff's Office, FL0110000, Jail Enforcement and Task Force
//! models), one user per role, and a roster of officers in every
//! designation state. Every record goes through the same store functions
//! as the web forms, so the audit log holds a true chain from the start.

use std::path::Path;

use time::{Date, Duration};

use crate::agency::{self, Profile};
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
pub async fn create(url: &str) -> anyhow::Result<Vec<(String, String, &'static str)>> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if Path::new(path).exists() {
        let existing = db::connect(url).await?;
        let (seeded,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'demo.seed'")
            .fetch_one(&existing)
            .await?;
        existing.close().await;
        if seeded == 0 {
            anyhow::bail!(
                "{path} holds a database that was not made by `oversight demo`; it is left untouched. Choose another --database-url."
            );
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{path}{suffix}");
            if Path::new(&file).exists() {
                std::fs::remove_file(&file)?;
            }
        }
        let files = crate::config::files_dir_for(url);
        if files.exists() {
            std::fs::remove_dir_all(&files)?;
        }
    }
    let pool = db::connect(url).await?;
    seed(&pool, &FileStore::new(crate::config::files_dir_for(url))).await?;
    Ok(SIGN_INS.iter().map(|(u, p, r)| (u.to_string(), p.to_string(), r.label())).collect())
}

pub async fn seed(pool: &Db, files: &FileStore) -> anyhow::Result<()> {
    let actor = Actor::system("demo seed");
    audit::record_alone(pool, &actor, Event::new("demo.seed", "database", "")).await?;
    let today = time::OffsetDateTime::now_utc().date();
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
    };
    agency::store::update(pool, &actor, &profile).await?;
    let hasher = crate::auth::password::Hasher::default();
    for (username, password, role) in SIGN_INS {
        let user = NewUser {
            username: username.into(),
            display_name: format!("Demo {}", role.label().to_lowercase()),
            password: password.into(),
            roles: vec![role],
            must_change_password: false,
        };
        let hash = hasher.hash(password).await?;
        users::store::create(pool, &actor, &user, &hash).await?;
    }
    let mut supervisors = Vec::new();
    for i in 0..48usize {
        let officer = demo_officer(i, today, &supervisors);
        let id = officers::store::create(pool, &actor, &officer).await?;
        if officer.rank == "Sergeant" || officer.rank == "Lieutenant" {
            supervisors.push(id);
        }
        let designations = demo_designations(i, today);
        for designation in &designations {
            officers::store::add_designation(pool, &actor, id, designation).await?;
        }
        for (n, record) in demo_training(i, today, &designations).into_iter().enumerate() {
            let record_id = training::store::add_record(pool, &actor, id, &record).await?;
            if n == 0 && i < 8 && record.scores.split(',').any(|s| s.parse::<i64>().is_ok_and(|v| v >= 70)) {
                let title = format!("Training certificate, {} {}", officer.first_name, officer.last_name);
                let doc = NewDocument {
                    title: title.clone(),
                    kind: "certificate".into(),
                    officer_id: Some(id),
                    training_record_id: Some(record_id),
                };
                attach(pool, files, &actor, &doc, "certificate.pdf", &demo_pdf(&title)).await?;
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
        pool,
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
    attach(pool, files, &actor, &sop, "sop-287g-4.txt", sop_text.as_bytes()).await?;
    Ok(())
}

/// Stores a demo file the way an upload is stored.
async fn attach(
    pool: &Db,
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
    documents::store::create(pool, actor, doc, &upload).await?;
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
