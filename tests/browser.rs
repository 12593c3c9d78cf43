//! The browser journey of issue 2 in Debian's headless Chromium (driven by
//! playwright-core from tests/browser, with axe-core on every page).
//! Needs `npm ci` in tests/browser and /usr/bin/chromium: the README's test
//! command installs both.

mod common;

use std::process::Command;

use common::spawn_app;
use oversight::auth::Role;

#[tokio::test]
async fn administrator_clerk_and_auditor_journey_in_chromium() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
    assert!(
        std::path::Path::new(dir).join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/browser first (the README's test command does)"
    );
    let app = spawn_app().await;
    app.set_agency_models("JEM").await;
    app.user("chief", &[Role::Administrator]).await;
    app.user("auditor", &[Role::Auditor]).await;
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("journey.mjs")
            .arg(&base)
            .current_dir(dir)
            .env("ADMIN_PASSWORD", common::PASSWORD)
            .env("AUDITOR_PASSWORD", common::PASSWORD)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "browser journey failed:\n{stdout}\n{stderr}");
    // What the browser did is in the database.
    let clerk: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE username = 'rjimenez' AND must_change_password = 0",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(clerk, 1);
    let officer: String = sqlx::query_scalar("SELECT last_name FROM officers WHERE badge = 'CC-7001'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(officer, "Nguyễn");
}
