//! "Newest first" on the stop and arrest lists is by date and time, then
//! id, across pages: records of one day entered out of time order come out
//! in time order, a stop without a time at the start of its day, and no
//! record is skipped or shown twice where a page ends.

mod common;

use common::{Client, spawn_app};
use oversight::audit::Actor;
use oversight::auth::Role;

/// The id of the record just made (read back, whatever the store returns).
async fn last_id(app: &common::TestApp, table: &str) -> i64 {
    oversight::db::query_scalar(&format!("SELECT MAX(id) FROM {table}")).fetch_one(&app.db).await.unwrap()
}

/// The record ids a list shows, following its "Next page" links.
async fn listed(client: &Client, first: &str, kind: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut path = Some(first.to_string());
    while let Some(at) = path.take() {
        let (status, body) = client.get_text(&at).await;
        assert_eq!(status, 200, "{at}");
        let rows = &body[body.find("<tbody>").expect("a table")..];
        let marker = format!("<td><a href=\"/{kind}/");
        let mut rest = rows;
        while let Some(start) = rest.find(&marker) {
            rest = &rest[start + marker.len()..];
            ids.push(rest[..rest.find('"').unwrap()].parse().unwrap());
        }
        let next = r#"<a href=""#;
        path = body.find(r#"" rel="next">Next page"#).map(|end| {
            let start = body[..end].rfind(next).unwrap() + next.len();
            body[start..end].replace("&amp;", "&").replace("&#38;", "&")
        });
    }
    ids
}

/// Times for one day in the order they are entered: not the day's order.
fn times(n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| match i % 9 {
            // A few without a time, and a few at the same minute.
            4 => None,
            7 => Some("12:00".to_string()),
            _ => Some(format!("{:02}:{:02}", (i * 7) % 24, (i * 13) % 60)),
        })
        .collect()
}

#[tokio::test]
async fn stops_of_a_day_list_in_time_order_across_pages() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let setup = Actor::system("test setup");
    let mut made = Vec::new();
    let day = times(70);
    for (date, time) in day
        .iter()
        .map(|t| ("2026-05-14", t.clone()))
        .chain([("2026-05-15", Some("01:00".to_string())), ("2026-05-13", Some("23:59".to_string()))])
    {
        let stop = oversight::stops::Stop {
            stop_date: date.into(),
            stop_time: time.clone(),
            location: "Main St".into(),
            stop_type: "vehicle".into(),
            reason: "traffic_violation".into(),
            results: ",warning,".into(),
            ..Default::default()
        };
        oversight::stops::store::create(&app.scope, &setup, &stop).await.unwrap();
        let id = last_id(&app, "stops").await;
        made.push((date, time.unwrap_or_default(), id));
    }
    let mut newest = made.clone();
    newest.sort_by(|a, b| b.cmp(a));
    let newest: Vec<i64> = newest.iter().map(|(_, _, id)| *id).collect();
    let client = app.signed_in("clerk").await;
    let shown = listed(&client, "/stops", "stops").await;
    assert_eq!(shown, newest, "newest first: date, time, then id, over two pages");
    let oldest: Vec<i64> = newest.iter().rev().copied().collect();
    assert_eq!(listed(&client, "/stops?order=oldest", "stops").await, oldest, "oldest first");
    // The stop with no time closes its day: the start of the day.
    let untimed = made.iter().find(|(d, t, _)| *d == "2026-05-14" && t.is_empty()).unwrap().2;
    let day_end = shown.len() - 2;
    assert!(shown[day_end - 8..=day_end].contains(&untimed), "the untimed stops come last in their day");
}

#[tokio::test]
async fn arrests_of_a_day_list_in_time_order_across_pages() {
    let app = spawn_app().await;
    app.user("clerk", &[Role::Clerk]).await;
    let setup = Actor::system("test setup");
    let mut made = Vec::new();
    for (date, time) in times(60)
        .into_iter()
        .map(|t| ("2026-05-14", t.unwrap_or_else(|| "00:00".into())))
        .chain([("2026-05-15", "01:00".to_string()), ("2026-05-13", "23:59".to_string())])
    {
        let arrest = oversight::arrests::Arrest {
            arrest_date: date.into(),
            arrest_time: time.clone(),
            person_name: "Test Person".into(),
            charges: "Trespass".into(),
            offense_class: "misdemeanor".into(),
            priority_level: "3".into(),
            arrest_type: "on_view".into(),
            ..Default::default()
        };
        oversight::arrests::store::create(&app.scope, &setup, &arrest).await.unwrap();
        let id = last_id(&app, "arrests").await;
        made.push((date, time, id));
    }
    made.sort_by(|a, b| b.cmp(a));
    let newest: Vec<i64> = made.iter().map(|(_, _, id)| *id).collect();
    let client = app.signed_in("clerk").await;
    assert_eq!(listed(&client, "/arrests", "arrests").await, newest, "newest first over two pages");
}
