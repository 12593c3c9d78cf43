//! Error summaries list the problems in the order the form shows its
//! fields, each line naming its field, and take the focus without
//! JavaScript; so does the sign-in failure.

mod common;

use common::{Client, spawn_app};
use oversight::auth::Role;

/// The summary's lines: (field linked to, text).
fn summary(body: &str) -> Vec<(String, String)> {
    let start = body.find(r#"id="error-summary""#).expect("an error summary");
    let end = start + body[start..].find("</ul>").unwrap();
    body[start..end]
        .split(r##"<li><a href="#"##)
        .skip(1)
        .map(|item| {
            let (field, rest) = item.split_once(r#"">"#).unwrap();
            (
                field.to_string(),
                rest[..rest.find("</a>").unwrap()].replace("&#34;", "\"").replace("&#39;", "'"),
            )
        })
        .collect()
}

/// Posts a form that is refused and checks its summary: in the order of
/// the fields on the page, and each line beginning with its label.
async fn refused(client: &Client, path: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let response = client.post(path, fields).await;
    assert_eq!(response.status(), 422, "{path}");
    let body = response.text().await.unwrap();
    let lines = summary(&body);
    assert!(lines.len() >= 3, "{path}: {lines:?}");
    let form = &body[body.find("<form").unwrap()..];
    let positions: Vec<usize> = lines
        .iter()
        .map(|(field, _)| {
            form.find(&format!(r#"id="{field}""#)).unwrap_or_else(|| panic!("{path}: #{field}"))
        })
        .collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "{path}: the summary follows the form: {lines:?}");
    assert!(
        body.contains(r#"id="error-summary" autofocus"#)
            && body.contains(r#"tabindex="-1" id="error-summary""#),
        "{path}: the summary takes the focus"
    );
    lines
}

#[tokio::test]
async fn summaries_follow_the_form_and_name_each_field() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let clerk = app.signed_in("clerk").await;

    let stop = refused(
        &clerk,
        "/stops/new",
        &[("stop_date", ""), ("stop_time", "9pm"), ("lat", "95"), ("lng", "10"), ("perceived_age", "0")],
    )
    .await;
    let line = |lines: &[(String, String)], field: &str| {
        lines.iter().find(|(f, _)| f == field).map(|(_, l)| l.clone()).unwrap_or_default()
    };
    assert_eq!(line(&stop, "lat"), "Latitude: enter decimal degrees between -90 and 90.");
    assert_eq!(line(&stop, "stop_date"), "Date: enter the date.");
    assert!(line(&stop, "stop_time").starts_with("Time: enter the time on the 24-hour clock"));
    assert_eq!(stop[0].0, "stop_date", "the first field first");

    let arrest = refused(
        &clerk,
        "/arrests/new",
        &[("arrest_date", "2025-06-01"), ("arrest_time", "10:00"), ("released_date", "2025-13-01")],
    )
    .await;
    assert_eq!(line(&arrest, "arrest_type"), "Type of arrest: choose the type of arrest.");
    assert!(line(&arrest, "released_date").starts_with("Released: date: "));

    let officer =
        refused(&clerk, "/officers/new", &[("badge", "no spaces"), ("annual_salary", "lots")]).await;
    assert_eq!(
        officer[0],
        ("badge".into(), "Badge number: enter the badge number: up to 20 letters, digits or dashes.".into())
    );
    assert!(line(&officer, "annual_salary").starts_with("Annual salary: enter the annual salary in dollars"));
}

#[tokio::test]
async fn a_failed_sign_in_puts_the_focus_on_its_message() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let client = Client::new(&app.base);
    let response = client.sign_in("clerk", "not the password").await;
    assert_eq!(response.status(), 401);
    let body = response.text().await.unwrap();
    let summary =
        body.find(r#"id="error-summary" tabindex="-1" autofocus"#).expect("the message takes the focus");
    assert_eq!(body.matches("autofocus").count(), 1, "nothing else claims the focus");
    assert!(summary < body.find("<form").unwrap(), "before the form");
}
