//! Sign-in and sessions through the real sign-in form (security.md).

mod common;

use std::time::Duration;

use common::{Client, PASSWORD, location, spawn_app, spawn_with};
use oversight::auth::Role;

fn failure_message(body: &str) -> String {
    let start = body.find("Sign-in failed.").expect("failure message shown");
    body[start..start + 80].to_string()
}

#[tokio::test]
async fn sign_in_lands_on_the_requested_page_with_a_new_session_id() {
    let app = spawn_app().await;
    app.user("clerk1", &[Role::Clerk]).await;
    let client = Client::new(&app.base);
    let response = client.get("/officers?status=active").await;
    assert_eq!(response.status(), 303);
    let to_login = location(&response);
    assert_eq!(to_login, "/login?next=%2Fofficers%3Fstatus%3Dactive");
    let before = client.get(&to_login).await;
    let cookie_before = before.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string());
    let body = before.text().await.unwrap();
    let token = common::extract_token(&body).unwrap();
    let response = client
        .post_raw(
            "/login",
            &[
                ("_csrf", &token),
                ("username", "clerk1"),
                ("password", PASSWORD),
                ("next", "/officers?status=active"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/officers?status=active");
    let cookie_after = response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string());
    assert!(cookie_after.is_some(), "sign-in must set a new session cookie");
    assert_ne!(cookie_before, cookie_after, "session id changes at sign-in");
    let cookie = cookie_after.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(client.get("/officers").await.status(), 200);
}

#[tokio::test]
async fn return_address_must_be_local() {
    let app = spawn_app().await;
    app.user("clerk1", &[Role::Clerk]).await;
    let client = Client::new(&app.base);
    let token = client.token("/login").await;
    let response = client
        .post_raw(
            "/login",
            &[("_csrf", &token), ("username", "clerk1"), ("password", PASSWORD), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.user("clerk1", &[Role::Clerk]).await;
    let client = Client::new(&app.base);
    let wrong = client.sign_in("clerk1", "not the password at all").await;
    assert_eq!(wrong.status(), 401);
    let wrong_body = wrong.text().await.unwrap();
    let unknown = client.sign_in("nobody", "not the password at all").await;
    assert_eq!(unknown.status(), 401);
    let unknown_body = unknown.text().await.unwrap();
    assert_eq!(failure_message(&wrong_body), failure_message(&unknown_body));
    assert!(wrong_body.contains("value=\"clerk1\""), "the username is kept in the form");
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "login.failure").count(), 2);
}

#[tokio::test]
async fn five_failures_lock_the_account_until_an_administrator_unlocks_it() {
    let app = spawn_app().await;
    let clerk_id = app.user("clerk1", &[Role::Clerk]).await;
    app.user("admin1", &[Role::Administrator]).await;
    let client = Client::new(&app.base);
    for _ in 0..5 {
        assert_eq!(client.sign_in("clerk1", "wrong password here").await.status(), 401);
    }
    let locked = client.sign_in("clerk1", PASSWORD).await;
    assert_eq!(locked.status(), 401, "the right password no longer works");
    let body = locked.text().await.unwrap();
    assert!(body.contains("Sign-in failed."), "same message for a locked account");
    assert!(app.audit_actions().await.contains(&"account.lockout".to_string()));

    let admin = app.signed_in("admin1").await;
    let (_, page) = admin.get_text(&format!("/users/{clerk_id}")).await;
    assert!(page.contains("Locked"));
    let response = admin.post(&format!("/users/{clerk_id}/unlock"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(client.sign_in("clerk1", PASSWORD).await.status(), 303);
    assert!(app.audit_actions().await.contains(&"user.unlock".to_string()));
}

#[tokio::test]
async fn failures_spread_beyond_the_window_do_not_lock() {
    let app = spawn_app().await;
    let id = app.user("clerk1", &[Role::Clerk]).await;
    let client = Client::new(&app.base);
    for _ in 0..4 {
        client.sign_in("clerk1", "wrong password here").await;
    }
    // Move the first failure back 16 minutes: the window has passed.
    oversight::db::query("UPDATE users SET first_failed_at = first_failed_at - 960 WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    client.sign_in("clerk1", "wrong password here").await;
    assert_eq!(client.sign_in("clerk1", PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn idle_sessions_end_on_the_server() {
    let app = spawn_with(|c| c.idle_timeout = Duration::from_secs(2)).await;
    app.user("clerk1", &[Role::Clerk]).await;
    let client = app.signed_in("clerk1").await;
    assert_eq!(client.get("/officers").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let response = client.get("/officers").await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("ended=idle"), "{}", location(&response));
    let (_, body) = client.get_text(&location(&response)).await;
    assert!(body.contains("signed out after a period without activity"));
    // The old session is gone: nothing is reachable without signing in again.
    assert_eq!(client.get("/officers").await.status(), 303);
}

#[tokio::test]
async fn sessions_end_at_the_absolute_limit_even_when_active() {
    let app = spawn_with(|c| {
        c.idle_timeout = Duration::from_secs(10);
        c.absolute_timeout = Duration::from_secs(3);
    })
    .await;
    app.user("clerk1", &[Role::Clerk]).await;
    let client = app.signed_in("clerk1").await;
    let mut ended = None;
    for _ in 0..8 {
        let response = client.get("/officers").await;
        if response.status() == 303 {
            ended = Some(location(&response));
            break;
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let ended = ended.expect("the session should have ended");
    assert!(ended.contains("ended=absolute"), "{ended}");
}

#[tokio::test]
async fn an_account_created_by_an_administrator_must_change_its_password_first() {
    let app = spawn_app().await;
    app.user("admin1", &[Role::Administrator]).await;
    let admin = app.signed_in("admin1").await;
    let response = admin
        .post(
            "/users/new",
            &[
                ("username", "newclerk"),
                ("display_name", "New Clerk"),
                ("password", "temporary harbor words"),
                ("roles", "clerk"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    let clerk = Client::new(&app.base);
    let response = clerk.sign_in("newclerk", "temporary harbor words").await;
    assert_eq!(location(&response), "/account/password");
    let blocked = clerk.get("/officers").await;
    assert_eq!(location(&blocked), "/account/password");
    let (_, page) = clerk.get_text("/account/password").await;
    assert!(page.contains("You must choose your own password"));

    let mismatch = clerk
        .post(
            "/account/password",
            &[
                ("current", "temporary harbor words"),
                ("new", "quiet meadow lanterns"),
                ("confirm", "different"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("do not match"));
    let common = clerk
        .post(
            "/account/password",
            &[("current", "temporary harbor words"), ("new", "password1234"), ("confirm", "password1234")],
        )
        .await;
    assert_eq!(common.status(), 422);
    assert!(common.text().await.unwrap().contains("commonly used"));

    let done = clerk
        .post(
            "/account/password",
            &[
                ("current", "temporary harbor words"),
                ("new", "quiet meadow lanterns"),
                ("confirm", "quiet meadow lanterns"),
            ],
        )
        .await;
    assert_eq!(done.status(), 303);
    assert_eq!(clerk.get("/officers").await.status(), 200);
    let fresh = Client::new(&app.base);
    assert_eq!(location(&fresh.sign_in("newclerk", "quiet meadow lanterns").await), "/");
}

#[tokio::test]
async fn sign_out_destroys_the_session_on_the_server() {
    let app = spawn_app().await;
    app.user("clerk1", &[Role::Clerk]).await;
    let client = app.signed_in("clerk1").await;
    let sessions_before = app.count(app.sessions_table()).await;
    let response = client.post("/logout", &[]).await;
    assert_eq!(location(&response), "/login");
    assert!(app.count(app.sessions_table()).await < sessions_before, "the session row is deleted");
    assert_eq!(client.get("/officers").await.status(), 303);
    assert!(app.audit_actions().await.contains(&"logout".to_string()));
}

#[tokio::test]
async fn a_password_change_ends_the_users_other_sessions() {
    let app = spawn_app().await;
    app.user("clerk1", &[Role::Clerk]).await;
    let laptop = app.signed_in("clerk1").await;
    let desk = app.signed_in("clerk1").await;
    let response = laptop
        .post(
            "/account/password",
            &[("current", PASSWORD), ("new", "quiet meadow lanterns"), ("confirm", "quiet meadow lanterns")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(laptop.get("/officers").await.status(), 200, "the session that changed it continues");
    let ended = desk.get("/officers").await;
    assert!(location(&ended).contains("ended=revoked"), "{}", location(&ended));
}

#[tokio::test]
async fn an_administrator_ends_or_disables_a_users_sessions() {
    let app = spawn_app().await;
    let clerk_id = app.user("clerk1", &[Role::Clerk]).await;
    app.user("admin1", &[Role::Administrator]).await;
    let admin = app.signed_in("admin1").await;
    let clerk = app.signed_in("clerk1").await;
    admin.post(&format!("/users/{clerk_id}/end-sessions"), &[]).await;
    assert_eq!(clerk.get("/officers").await.status(), 303);

    let clerk = app.signed_in("clerk1").await;
    admin.post(&format!("/users/{clerk_id}/disable"), &[]).await;
    assert_eq!(clerk.get("/officers").await.status(), 303);
    assert_eq!(clerk.sign_in("clerk1", PASSWORD).await.status(), 401);
    admin.post(&format!("/users/{clerk_id}/enable"), &[]).await;
    assert_eq!(clerk.sign_in("clerk1", PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn a_reset_password_must_be_changed_at_next_sign_in() {
    let app = spawn_app().await;
    let clerk_id = app.user("clerk1", &[Role::Clerk]).await;
    app.user("admin1", &[Role::Administrator]).await;
    let admin = app.signed_in("admin1").await;
    let weak = admin.post(&format!("/users/{clerk_id}/reset-password"), &[("password", "short")]).await;
    assert_eq!(weak.status(), 422);
    let response = admin
        .post(&format!("/users/{clerk_id}/reset-password"), &[("password", "granite window seven")])
        .await;
    assert_eq!(response.status(), 303);
    let clerk = Client::new(&app.base);
    assert_eq!(clerk.sign_in("clerk1", PASSWORD).await.status(), 401);
    let response = clerk.sign_in("clerk1", "granite window seven").await;
    assert_eq!(location(&response), "/account/password");
}

#[tokio::test]
async fn the_sign_in_page_shows_the_banner_and_how_to_create_the_first_administrator() {
    let app = spawn_app().await;
    let client = Client::new(&app.base);
    let (status, body) = client.get_text("/login").await;
    assert_eq!(status, 200);
    assert!(body.contains("restricted criminal justice information system"));
    assert!(body.contains("oversight user add USERNAME --role administrator"));
    app.user("admin1", &[Role::Administrator]).await;
    let (_, body) = client.get_text("/login").await;
    assert!(!body.contains("No administrator yet"));
}

/// Reading pages must not rewrite the session row each time: the last-seen
/// stamp moves only when stale by a twentieth of the idle limit.
#[tokio::test]
async fn reading_pages_does_not_rewrite_the_session() {
    let app = spawn_app().await;
    app.user("clerk1", &[Role::Clerk]).await;
    let client = app.signed_in("clerk1").await;
    assert_eq!(client.get("/officers").await.status(), 200);
    let stored = || async {
        oversight::db::query_as::<(Vec<u8>, String)>(&format!(
            "SELECT data, CAST(expiry_date AS TEXT) FROM {}",
            app.sessions_table()
        ))
        .fetch_all(&app.db)
        .await
        .unwrap()
    };
    let before = stored().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for _ in 0..3 {
        assert_eq!(client.get("/officers").await.status(), 200);
    }
    assert_eq!(stored().await, before, "page views left the session row as it was");
}
