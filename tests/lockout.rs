//! Five failures in fifteen minutes lock an account however they arrive
//! (CJIS AC-7, docs/security.md): wrong passwords or wrong one-time codes
//! sent in parallel each count, the lock is written once, and the right
//! password or code is refused afterwards.

mod common;

use common::{Client, PASSWORD, TestApp, location, spawn_app};
use futures_util::future::join_all;
use oversight::auth::Role;

async fn state_of(app: &TestApp, username: &str) -> (i64, i64) {
    oversight::db::query_as("SELECT locked, failed_logins FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn count(app: &TestApp, action: &str) -> usize {
    app.audit_actions().await.iter().filter(|a| *a == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_parallel_wrong_passwords_lock_the_account_once() {
    let app = spawn_app().await;
    app.user("clerk1", &[Role::Clerk]).await;
    // Each attempt from its own browser, ten at a time, as an attacker would.
    for _wave in 0..3 {
        let clients: Vec<Client> = (0..10).map(|_| Client::new(&app.base)).collect();
        let statuses = join_all(
            clients
                .iter()
                .map(|c| async move { c.sign_in("clerk1", "wrong password here").await.status().as_u16() }),
        )
        .await;
        assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    }
    let (locked, _) = state_of(&app, "clerk1").await;
    assert_eq!(locked, 1, "the account is locked");
    assert_eq!(count(&app, "login.failure").await, 30, "every attempt audited");
    assert_eq!(count(&app, "account.lockout").await, 1, "one lockout entry per lock");
    let right = Client::new(&app.base).sign_in("clerk1", PASSWORD).await;
    assert_eq!(right.status(), 401, "the right password is refused once locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_codes_lock_the_account_once() {
    let app = spawn_app().await;
    app.user("chief", &[Role::Administrator]).await;
    // Two-step sign-in on, with a key the test knows.
    let key = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    oversight::db::query("UPDATE users SET totp_secret = $1 WHERE username = 'chief'")
        .bind(key)
        .execute(&app.db)
        .await
        .unwrap();
    let clients: Vec<Client> = (0..11).map(|_| Client::new(&app.base)).collect();
    for c in &clients {
        assert_eq!(location(&c.sign_in("chief", PASSWORD).await), "/login/code");
    }
    let (waiting, last) = clients.split_at(10);
    let statuses = join_all(waiting.iter().map(|c| async move {
        let token = c.token("/login/code").await;
        c.post_raw("/login/code", &[("_csrf", &token), ("code", "000000")]).await.status().as_u16()
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == 401 || *s == 303), "{statuses:?}");
    let (locked, _) = state_of(&app, "chief").await;
    assert_eq!(locked, 1, "ten wrong codes at once lock the account");
    assert_eq!(count(&app, "account.lockout").await, 1);
    // The right code, on a sign-in whose password step passed before the lock.
    let secret = totp_rs::Secret::try_from_base32(key).unwrap();
    let code = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let code = code.generate(time::OffsetDateTime::now_utc().unix_timestamp() as u64).to_string();
    let token = last[0].token("/login/code").await;
    let response = last[0].post_raw("/login/code", &[("_csrf", &token), ("code", &code)]).await;
    assert_ne!(location(&response), "/", "no sign-in on a locked account");
    assert_eq!(last[0].get("/users").await.status(), 303, "not signed in");
}
