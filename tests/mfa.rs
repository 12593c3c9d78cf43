//! Two-step sign-in (TOTP) through the real pages: enrolment forced by the
//! agency's policy, the code step, replay refusal, failures counted toward
//! lockout, and an administrator's reset.

mod common;

use common::{Client, PASSWORD, TestApp, location, spawn_app};
use oversight::auth::Role;

/// What an authenticator app would show now for a base32 key.
fn code_for(key: &str, offset_secs: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(key.replace(' ', "")).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + offset_secs;
    totp.generate(now as u64).to_string()
}

fn key_on(page: &str) -> String {
    let marker = "<code id=\"secret\" class=\"secret\">";
    let start = page.find(marker).expect("key shown") + marker.len();
    page[start..start + page[start..].find('<').unwrap()].to_string()
}

/// Signs in with the password and enrols, returning the key.
async fn enrol(app: &TestApp, client: &Client, username: &str) -> String {
    let response = client.sign_in(username, PASSWORD).await;
    assert_eq!(location(&response), "/");
    let blocked = client.get("/officers").await;
    assert_eq!(location(&blocked), "/account/mfa", "enrolment comes first");
    let (_, page) = client.get_text("/account/mfa").await;
    assert!(page.contains("Your agency requires two-step sign-in"));
    assert!(page.contains("<svg role=\"img\""), "QR code shown");
    let key = key_on(&page);
    let wrong = client.post("/account/mfa", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), 422);
    let (_, again) = client.get_text("/account/mfa").await;
    assert_eq!(key_on(&again), key, "the same key until it is confirmed");
    let done = client.post("/account/mfa", &[("code", &code_for(&key, 0))]).await;
    assert_eq!(done.status(), 303);
    assert_eq!(client.get("/officers").await.status(), 200);
    assert!(app.audit_actions().await.contains(&"mfa.enrol".to_string()));
    key
}

#[tokio::test]
async fn administrators_must_enrol_and_then_sign_in_with_a_code() {
    let app = spawn_app().await;
    app.set_mfa_policy("administrators").await;
    app.user("chief", &[Role::Administrator]).await;
    app.user("clerk", &[Role::Clerk]).await;
    let key = enrol(&app, &Client::new(&app.base), "chief").await;

    // A clerk is not required to use it under this policy.
    let clerk = app.signed_in("clerk").await;
    assert_eq!(clerk.get("/officers").await.status(), 200);

    let client = Client::new(&app.base);
    let response = client.sign_in("chief", PASSWORD).await;
    assert_eq!(location(&response), "/login/code");
    assert_eq!(location(&client.get("/users").await).split('?').next(), Some("/login"), "not signed in yet");
    let wrong = client
        .post_raw("/login/code", &[("_csrf", &client.token("/login/code").await), ("code", "123456")])
        .await;
    assert_eq!(wrong.status(), 401);
    // The code the enrolment used was for this step: a replay is refused,
    // so use the next step's code (accepted with one step of skew).
    let code = code_for(&key, 30);
    let token = client.token("/login/code").await;
    let response = client.post_raw("/login/code", &[("_csrf", &token), ("code", &code)]).await;
    assert_eq!(location(&response), "/");
    assert_eq!(client.get("/users").await.status(), 200);

    let replay = Client::new(&app.base);
    replay.sign_in("chief", PASSWORD).await;
    let token = replay.token("/login/code").await;
    let response = replay.post_raw("/login/code", &[("_csrf", &token), ("code", &code)]).await;
    assert_eq!(response.status(), 401, "a code is accepted once");
}

#[tokio::test]
async fn wrong_codes_count_toward_lockout() {
    let app = spawn_app().await;
    app.set_mfa_policy("everyone").await;
    app.user("clerk", &[Role::Clerk]).await;
    enrol(&app, &Client::new(&app.base), "clerk").await;
    let client = Client::new(&app.base);
    client.sign_in("clerk", PASSWORD).await;
    for attempt in 1..=5 {
        let token = client.token("/login/code").await;
        let response = client.post_raw("/login/code", &[("_csrf", &token), ("code", "000000")]).await;
        if attempt < 5 {
            assert_eq!(response.status(), 401);
        } else {
            assert_eq!(location(&response), "/login", "locked: back to the start");
        }
    }
    assert!(app.audit_actions().await.contains(&"account.lockout".to_string()));
    assert_eq!(client.sign_in("clerk", PASSWORD).await.status(), 401);
}

#[tokio::test]
async fn an_administrator_resets_a_lost_device() {
    let app = spawn_app().await;
    app.set_mfa_policy("everyone").await;
    app.user("admin", &[Role::Administrator]).await;
    let clerk_id = app.user("clerk", &[Role::Clerk]).await;
    let admin_client = Client::new(&app.base);
    enrol(&app, &admin_client, "admin").await;
    let clerk = Client::new(&app.base);
    enrol(&app, &clerk, "clerk").await;
    let (_, page) = admin_client.get_text(&format!("/users/{clerk_id}")).await;
    assert!(page.contains("Reset two-step sign-in"));
    let response = admin_client.post(&format!("/users/{clerk_id}/reset-mfa"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(clerk.get("/officers").await.status(), 303, "the clerk's session ended");
    // Signing in again asks for enrolment, not a code.
    enrol(&app, &Client::new(&app.base), "clerk").await;
    assert!(app.audit_actions().await.contains(&"user.mfa_reset".to_string()));
}

#[tokio::test]
async fn the_code_step_cannot_be_reached_without_the_password() {
    let app = spawn_app().await;
    let client = Client::new(&app.base);
    assert_eq!(location(&client.get("/login/code").await), "/login");
    let token = client.token("/login").await;
    let response = client.post_raw("/login/code", &[("_csrf", &token), ("code", "123456")]).await;
    assert_eq!(location(&response), "/login");
}
