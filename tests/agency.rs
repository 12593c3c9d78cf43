//! The agency profile: filled from the public agreements list by ORI,
//! validated field by field, and its banner shown at sign-in.

mod common;

use common::{Client, spawn_app};
use oversight::auth::Role;

#[tokio::test]
async fn the_profile_fills_from_the_agreements_list_and_saves() {
    let app = spawn_app().await;
    app.user("admin", &[Role::Administrator]).await;
    let admin = app.signed_in("admin").await;
    let (status, page) = admin.get_text("/agency?ori=fl0110000").await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"Collier County Sheriff\""));
    assert!(page.contains("value=\"FL0110000\""));
    assert!(page.contains("<option value=\"FL\" selected>"));
    assert!(page.contains("id=\"model-JEM\" name=\"models\" value=\"JEM\" checked"));
    assert!(page.contains("id=\"model-TFM\" name=\"models\" value=\"TFM\" checked"));
    assert!(!page.contains("id=\"model-WSO\" name=\"models\" value=\"WSO\" checked"));
    let name: String =
        oversight::db::query_scalar("SELECT name FROM agency").fetch_one(&app.db).await.unwrap();
    assert_eq!(name, "", "looking up saves nothing");

    let (status, page) = admin.get_text("/agency?ori=ZZ0000000").await;
    assert_eq!(status, 404);
    assert!(page.contains("This ORI is not in the 287(g) agreements list"));

    let bad = admin
        .post(
            "/agency",
            &[
                ("name", "Collier County Sheriff"),
                ("ori", "TX0110000"),
                ("state", "FL"),
                ("agreement_signed", "2025-03-01"),
                ("agreement_renewed", "2024-01-01"),
                ("login_banner", "short"),
                ("time_zone", "Florida/Naples"),
                ("mfa_policy", "optional"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    for message in [
        "The ORI must begin with the state&#39;s two letters.",
        "Choose the model or models the agreement covers.",
        "The renewal date cannot be before the signing date.",
        "The banner must say the system is restricted and monitored",
        "Enter a time zone name such as America/Chicago.",
    ] {
        assert!(
            body.contains(message) || body.contains(&message.replace("&#39;", "'")),
            "missing: {message}"
        );
    }
    assert!(body.contains("value=\"Florida/Naples\""), "input kept");

    let banner = "Restricted system of the Collier County Sheriff's Office. Use is monitored and audited.";
    let good = admin
        .post(
            "/agency",
            &[
                ("name", "Collier County Sheriff's Office"),
                ("ori", "FL0110000"),
                ("state", "FL"),
                ("models", "JEM"),
                ("models", "TFM"),
                ("agreement_signed", "2025-03-01"),
                ("login_banner", banner),
                ("time_zone", "America/New_York"),
                ("mfa_policy", "optional"),
            ],
        )
        .await;
    assert_eq!(good.status(), 303);
    let (_, login) = Client::new(&app.base).get_text("/login").await;
    assert!(
        login.contains("Sign in to Collier County Sheriff&#39;s Office")
            || login.contains("Sign in to Collier County Sheriff's Office")
    );
    assert!(login.contains("Use is monitored and audited."));
    let details: String =
        oversight::db::query_scalar("SELECT details FROM audit_log WHERE action = 'settings.update'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(details.contains("\"ori\":\"FL0110000\"") && details.contains("\"before\""), "{details}");
}

#[tokio::test]
async fn a_future_renewal_is_refused_and_a_failed_look_up_keeps_the_ori_typed() {
    let app = spawn_app().await;
    app.user("admin", &[Role::Administrator]).await;
    let admin = app.signed_in("admin").await;

    let (status, page) = admin.get_text("/agency?ori=%20zz0000000%20").await;
    assert_eq!(status, 404);
    assert!(
        page.contains(r#"<input id="lookup" name="ori" type="text" value="zz0000000""#),
        "what was typed"
    );

    let today = oversight::agency::today_in("America/New_York");
    let tomorrow = oversight::web::format_date(today + time::Duration::days(1));
    fn profile(renewed: &str) -> Vec<(&'static str, &str)> {
        vec![
            ("name", "Collier County Sheriff's Office"),
            ("ori", "FL0110000"),
            ("state", "FL"),
            ("models", "JEM"),
            ("agreement_signed", "2025-03-01"),
            ("agreement_renewed", renewed),
            ("login_banner", "Restricted system. Use is monitored and audited."),
            ("time_zone", "America/New_York"),
            ("mfa_policy", "optional"),
        ]
    }
    let refused = admin.post("/agency", &profile(&tomorrow)).await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains(r#"<p class="error-message" id="agreement_renewed-error"><span class="visually-hidden">Error: </span>The renewal date cannot be in the future.</p>"#),
        "the error beside the field"
    );
    assert!(body.contains(&format!(r#"value="{tomorrow}""#)), "the date kept");
    let today = oversight::web::format_date(today);
    assert_eq!(admin.post("/agency", &profile(&today)).await.status(), 303, "today is allowed");
}
