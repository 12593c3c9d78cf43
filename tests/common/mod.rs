//! Test harness: the real server on port 0 over a fresh SQLite file, and a
//! cookie-keeping HTTP client that signs in through the real sign-in form.
#![allow(dead_code)]

use std::time::Duration;

use oversight::audit::Actor;
use oversight::auth::Role;
use oversight::config::Config;
use oversight::db::Db;
use oversight::users::NewUser;

pub struct TestApp {
    pub base: String,
    pub db: Db,
    /// The first agency's scope, for setup through the stores.
    pub scope: oversight::agency::Scope,
    pub db_url: String,
    pub dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    // OVERSIGHT_TEST_BACKEND=postgres runs the test on a database of its
    // own on the test server.
    let db_url = scratch_database(dir.path(), "oversight").await;
    serve_database(dir, db_url, adjust).await
}

/// The demo agency's database (`oversight demo`'s records), served.
pub async fn spawn_demo() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = scratch_database(dir.path(), "demo").await;
    oversight::demo::create(&db_url, &dir.path().join("files")).await.expect("demo");
    serve_database(dir, db_url, |_| {}).await
}

/// A database made before (`dir` holds its files), served; `scope` is its
/// first agency's.
pub async fn serve_existing(dir: tempfile::TempDir, db_url: String) -> TestApp {
    serve_database(dir, db_url, |_| {}).await
}

async fn serve_database(dir: tempfile::TempDir, db_url: String, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = oversight::db::connect_server(&db_url).await.expect("database");
    let agencies = oversight::agency::store::list(&db).await.expect("agencies");
    let first = agencies.first().map(|a| a.ori.as_str()).filter(|_| agencies.len() > 1);
    let scope = oversight::agency::Scope::for_command(&db, first).await.expect("the first agency");
    // Two-step sign-in has its own tests (tests/mfa.rs); elsewhere it would
    // only stand between the test and the page under test.
    oversight::db::query("UPDATE agency SET mfa_policy = 'optional'").execute(&db).await.expect("policy");
    let mut config = Config::new(&db_url);
    config.files_dir = dir.path().join("files");
    adjust(&mut config);
    let router = oversight::app::build(db.clone(), config).await.expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(oversight::app::serve(listener, router));
    TestApp { base, db, scope, db_url, dir }
}

/// Runs the real binary against the database `url` with the files folder
/// `files`: (success, output).
pub fn cli_on(url: &str, files: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .env("OVERSIGHT_DATABASE_URL", url)
        .env("OVERSIGHT_FILES_DIR", files)
        .output()
        .expect("run oversight");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// A new database for a test that makes its own (besides `spawn_app`'s):
/// a SQLite file `name` in `dir`, or with OVERSIGHT_TEST_BACKEND=postgres a
/// fresh, migrated database on the test server.
pub async fn scratch_database(dir: &std::path::Path, name: &str) -> String {
    match std::env::var("OVERSIGHT_TEST_BACKEND").as_deref() {
        Ok("postgres") => fresh_postgres(name).await,
        _ => format!("sqlite://{}/{name}.db", dir.display()),
    }
}

/// A fresh database on the test server (`OVERSIGHT_TEST_POSTGRES_URL`,
/// which `bash tests/run.sh` provides), with the collation the product
/// requires and the schema already migrated; returns its URL: the server's
/// URL naming another database.
///
/// Each is a copy of a template database migrated once per schema (named
/// by a hash of `migrations/postgres`), which `CREATE DATABASE … TEMPLATE`
/// copies in a few milliseconds where running the migrations again takes
/// much longer. Test binaries run at once: an advisory lock on the server
/// lets one of them make the template while the others wait.
pub async fn fresh_postgres(purpose: &str) -> String {
    use sqlx::ConnectOptions;
    let url = std::env::var("OVERSIGHT_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("OVERSIGHT_TEST_POSTGRES_URL is not set: run `bash tests/run.sh`, or `source tests/postgres.sh` first")
    });
    let (server, _) = url.rsplit_once('/').expect("a URL naming its database");
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("a PostgreSQL URL");
    let mut admin = options.connect().await.expect("connect to the test server");
    let template = template_name();
    sqlx::query("SELECT pg_advisory_lock(7013)").execute(&mut admin).await.expect("template lock");
    ensure_app_role(&mut admin).await;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut admin)
        .await
        .expect("look for the template");
    if exists.is_none() {
        let building = format!("{template}_building");
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{building}\""))
            .execute(&mut admin)
            .await
            .expect("drop");
        sqlx::query(&format!(
            "CREATE DATABASE \"{building}\" OWNER {APP_ROLE} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' \
             ENCODING 'UTF8'"
        ))
        .execute(&mut admin)
        .await
        .expect("create the template database");
        let db = oversight::db::connect(&as_app_role(&format!("{server}/{building}")))
            .await
            .expect("migrate the template");
        db.close().await;
        // Renamed only once complete: a template is never half made. A
        // database with a session cannot be renamed, and the closed pool's
        // sessions have been seen to linger on the server: ended here.
        let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\"");
        for attempt in 0.. {
            sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
                .bind(&building)
                .execute(&mut admin)
                .await
                .expect("end the template's sessions");
            match sqlx::query(&rename).execute(&mut admin).await {
                Ok(_) => break,
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55006") && attempt < 20 => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("name the template: {e}"),
            }
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(7013)").execute(&mut admin).await.expect("template unlock");
    copy_of(&mut admin, &url, purpose, &format!("TEMPLATE \"{template}\"")).await
}

/// A database with nothing in it, not even the schema (for a restore).
pub async fn empty_postgres(purpose: &str) -> String {
    use sqlx::ConnectOptions;
    let url = std::env::var("OVERSIGHT_TEST_POSTGRES_URL").expect("OVERSIGHT_TEST_POSTGRES_URL");
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("a PostgreSQL URL");
    let mut admin = options.connect().await.expect("connect to the test server");
    sqlx::query("SELECT pg_advisory_lock(7013)").execute(&mut admin).await.expect("role lock");
    ensure_app_role(&mut admin).await;
    sqlx::query("SELECT pg_advisory_unlock(7013)").execute(&mut admin).await.expect("role unlock");
    copy_of(&mut admin, &url, purpose, "TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'").await
}

/// The role the product connects as in the tests: not a superuser and
/// without BYPASSRLS, so row-level security holds for it as for a
/// deployment (the product refuses to run as a role that skips it). It
/// owns every test database and, having run their migrations, their tables.
pub const APP_ROLE: &str = "oversight_app";

async fn ensure_app_role(admin: &mut sqlx::PgConnection) {
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(APP_ROLE)
        .fetch_optional(&mut *admin)
        .await
        .expect("look for the role");
    if exists.is_none() {
        sqlx::query(&format!("CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
            .execute(&mut *admin)
            .await
            .expect("create the application's role");
    }
}

/// `url` (the test server's, as its superuser) as the application's role.
pub fn as_app_role(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let rest = rest.split_once('@').map(|(_, host)| host).unwrap_or(rest);
    format!("{scheme}://{APP_ROLE}@{rest}")
}

/// Creates a uniquely named database (`template`: how) and returns its URL.
async fn copy_of(admin: &mut sqlx::PgConnection, url: &str, purpose: &str, template: &str) -> String {
    let (server, _) = url.rsplit_once('/').expect("a URL naming its database");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("{purpose}_{}_{nanos}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE \"{name}\" OWNER {APP_ROLE} {template}"))
        .execute(admin)
        .await
        .expect("create the test database");
    as_app_role(&format!("{server}/{name}"))
}

/// `oversight_template_` and a hash of every PostgreSQL migration.
fn template_name() -> String {
    use sha2::Digest;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(dir).expect("migrations").map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut hash = sha2::Sha256::new();
    for file in files {
        hash.update(file.file_name().unwrap().as_encoded_bytes());
        hash.update(std::fs::read(&file).unwrap());
    }
    format!("oversight_template_{}", &hex::encode(hash.finalize())[..12])
}

/// An active officer with only a badge and names (id given by the store).
pub fn active_officer(badge: &str, last_name: &str) -> oversight::officers::Officer {
    oversight::officers::Officer {
        id: 0,
        badge: badge.into(),
        last_name: last_name.into(),
        first_name: "Ana".into(),
        rank: String::new(),
        unit: String::new(),
        hire_date: None,
        status: "active".into(),
        supervisor_id: None,
        annual_salary_cents: None,
    }
}

/// The value of the hidden form field `name` on `page`.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} field")) + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

pub const PASSWORD: &str = "river lantern ochre";

impl TestApp {
    /// Creates an account directly in the store (setup, not the thing under test).
    pub async fn user(&self, username: &str, roles: &[Role]) -> i64 {
        self.user_with(username, roles, false).await
    }

    pub async fn user_with(&self, username: &str, roles: &[Role], must_change: bool) -> i64 {
        let hash = oversight::auth::password::Hasher::default().hash(PASSWORD).await.unwrap();
        let user = NewUser {
            username: username.into(),
            display_name: format!("Test {username}"),
            password: PASSWORD.into(),
            roles: roles.to_vec(),
            must_change_password: must_change,
        };
        oversight::users::store::create(&self.scope, &Actor::system("test setup"), &user, &hash)
            .await
            .unwrap()
    }

    /// A client signed in as `username` with the common test password.
    pub async fn signed_in(&self, username: &str) -> Client {
        let client = Client::new(&self.base);
        let response = client.sign_in(username, PASSWORD).await;
        assert_eq!(response.status(), 303, "sign-in of {username} should redirect");
        client
    }

    /// Runs the real binary against this app's database: (success, output).
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        // The server's files folder, as a deployment configures both.
        cli_on(&self.db_url, &self.dir.path().join("files"), args)
    }

    /// A TFM officer, Ferreira (CC-7003), trained and authorized from
    /// 10 March 2026; returns the officer's id.
    pub async fn authorized_tfm_officer(&self) -> i64 {
        let setup = Actor::system("test setup");
        let officer = oversight::officers::Officer {
            badge: "CC-7003".into(),
            last_name: "Ferreira".into(),
            first_name: "João".into(),
            rank: "Deputy".into(),
            unit: "Patrol".into(),
            status: "active".into(),
            ..Default::default()
        };
        let id = oversight::officers::store::create(&self.scope, &setup, &officer).await.unwrap();
        let designation = oversight::officers::Designation {
            model: "TFM".into(),
            nominated_on: Some("2026-01-05".into()),
            certified_on: Some("2026-03-01".into()),
            authorized_on: Some("2026-03-10".into()),
            ..Default::default()
        };
        oversight::officers::store::add_designation(&self.scope, &setup, id, &designation).await.unwrap();
        let trained = oversight::training::TrainingRecord {
            id: 0,
            officer_id: id,
            course_id: 2,
            completed_on: "2026-02-10".into(),
            hours: 40.0,
            scores: "86".into(),
            provider: "ICE Academy".into(),
        };
        oversight::training::store::add_record(&self.scope, &setup, id, &trained).await.unwrap();
        id
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        oversight::db::query_scalar("SELECT action FROM audit_log ORDER BY seq")
            .fetch_all(&self.db)
            .await
            .unwrap()
    }

    /// The deployment's signing key, as the server and the binary find it.
    pub fn signing_key(&self) -> oversight::audit::checkpoint::SigningKey {
        use oversight::audit::checkpoint::SigningKey;
        SigningKey::load_or_create(&SigningKey::path_for(&self.db_url)).expect("signing key")
    }

    pub fn is_postgres(&self) -> bool {
        self.db_url.starts_with("postgres")
    }

    /// Where tower-sessions' store keeps the sessions: a table of its own
    /// on SQLite, a table in a schema of its own on PostgreSQL.
    pub fn sessions_table(&self) -> &'static str {
        if self.is_postgres() { "tower_sessions.session" } else { "tower_sessions" }
    }

    pub async fn count(&self, table: &str) -> i64 {
        oversight::db::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    pub async fn set_mfa_policy(&self, policy: &str) {
        oversight::db::query("UPDATE agency SET mfa_policy = $1")
            .bind(policy)
            .execute(&self.db)
            .await
            .unwrap();
    }

    pub async fn set_agency_models(&self, models: &str) {
        oversight::db::query("UPDATE agency SET models = $1, name = 'Test County Sheriff', ori = 'TX1010000', state = 'TX' WHERE id = 1")
            .bind(models)
            .execute(&self.db)
            .await
            .unwrap();
    }
}

/// An HTTP client with its own cookie jar that does not follow redirects,
/// so tests see each 303 the browser would follow.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self { http, base: base.to_string() }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The CSRF token of this client's session, read from a page's form.
    /// Follows redirects as a browser would (a user who must first change
    /// the password or enrol in two-step sign-in is sent elsewhere).
    pub async fn token(&self, path: &str) -> String {
        let mut path = path.to_string();
        for _ in 0..4 {
            let response = self.get(&path).await;
            if response.status().is_redirection() {
                path = location(&response);
                continue;
            }
            let body = response.text().await.unwrap();
            return extract_token(&body).unwrap_or_else(|| panic!("no CSRF token on {path}"));
        }
        panic!("too many redirects from {path}")
    }

    /// Posts a form with the session's token, as the browser would.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.token("/account/password").await;
        let mut pairs: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        pairs.extend_from_slice(fields);
        self.post_raw(path, &pairs).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).form(fields).send().await.unwrap()
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        let token = self.token("/login").await;
        self.post_raw(
            "/login",
            &[("_csrf", &token), ("username", username), ("password", password), ("next", "/")],
        )
        .await
    }
}

/// A minimal valid PDF and PNG for upload tests.
pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// Uploads a document through the real multipart form; returns the response.
pub async fn upload_response(
    client: &Client,
    fields: &[(&str, &str)],
    file_name: &str,
    bytes: &[u8],
) -> reqwest::Response {
    upload_to(client, "/documents/new", fields, file_name, bytes).await
}

/// Posts a multipart form with a file to `path`, with the session's token.
pub async fn upload_to(
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
    file_name: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let token = client.token("/account/password").await;
    // The token goes first, in the body, as the forms send it.
    let mut form = reqwest::multipart::Form::new().text("_csrf", token);
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(file_name.to_string());
    form = form.part("file", part);
    client.http.post(format!("{}{path}", client.base)).multipart(form).send().await.unwrap()
}

/// Uploads a document and returns its id.
pub async fn upload(
    client: &Client,
    title: &str,
    kind: &str,
    officer: &str,
    file_name: &str,
    bytes: &[u8],
) -> i64 {
    let response = upload_response(
        client,
        &[("title", title), ("kind", kind), ("officer_id", officer)],
        file_name,
        bytes,
    )
    .await;
    assert_eq!(response.status(), 303, "upload of {file_name}");
    location(&response).trim_start_matches("/documents/").parse().unwrap()
}

pub fn extract_token(body: &str) -> Option<String> {
    let marker = "name=\"_csrf\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// The scope of a database's one agency (setup through the stores).
pub async fn scope(db: &Db) -> oversight::agency::Scope {
    oversight::agency::Scope::for_command(db, None).await.expect("one agency")
}

/// The Python of the tests' virtual environment, which `tests/run.sh`
/// fills with pikepdf and the PyPI `pdfua` checker.
pub fn pdf_python(program: &str) -> std::path::PathBuf {
    let venv = std::env::var("OVERSIGHT_TEST_PDF_VENV")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/pdf-venv").to_string());
    let path = std::path::Path::new(&venv).join("bin").join(program);
    assert!(
        path.exists(),
        "{} is missing: bash tests/run.sh installs pikepdf and pdfua there",
        path.display()
    );
    path
}

/// The checks of a tagged PDF/UA-1 and PDF/A-2 report (docs/reports.md):
/// pdfinfo says it is tagged and PDF 1.7, the structure check of
/// `tests/pdf/check_tagged.py` and the `pdfua` checker find nothing.
/// Returns (the structure check's element tree, `pdfinfo -struct-text`).
pub fn assert_tagged_pdf(pdf: &std::path::Path) -> (String, String) {
    let run = |program: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let file = pdf.to_str().unwrap();
    let (_, info) = run("pdfinfo".as_ref(), &[file]);
    assert!(info.contains("Tagged:          yes"), "{info}");
    assert!(info.contains("PDF version:     1.7"), "{info}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pdf/check_tagged.py");
    let (ok, tree) = run(&pdf_python("python"), &[script, file]);
    assert!(ok, "the structure check found problems:\n{tree}");
    let (ok, verdict) = run(&pdf_python("pdfua"), &["check", file]);
    assert!(ok, "the pdfua checker found problems:\n{verdict}");
    let (ok, structure) = run("pdfinfo".as_ref(), &["-struct-text", file]);
    assert!(ok, "{structure}");
    (tree, structure)
}
