//! A publication's PDF: the same figures as its page, tagged as every
//! report of the product is (issue 11), made once when it is published.

use super::Body;
use crate::reports::pdf::{Column, Paper, Writer};

const COLUMNS: [Column<'static>; 4] = [
    Column { header: "Group", width: 170.0 },
    Column { header: "Value", width: 110.0 },
    Column { header: "Count", width: 105.0 },
    Column { header: "95% interval", width: 110.0 },
];

pub fn render(body: &Body, published_at: i64, version: i64, data_sha256: &str) -> anyhow::Result<Vec<u8>> {
    let title = format!("287(g) oversight measures: {}, {}", body.name, body.period_label());
    let mut w = Writer::new(&title, Paper::Letter)?;
    w.title(&title);
    w.paragraph(
        &format!("Published {}, version {version}.", crate::web::format_instant(published_at)),
        11.0,
        false,
    );
    if !body.models.is_empty() {
        w.paragraph(&format!("What the agreement allows: {}.", body.models.join("; ")), 11.0, false);
    }
    w.paragraph(
        "Only aggregates are published, never a record. Any count from 1 to 10 is shown as \"1-10\" with its \
         rate and interval withheld, and so is any figure from which such a count could be worked out.",
        10.0,
        false,
    );
    w.paragraph(&format!("Data fingerprint of the records behind these figures: {data_sha256}"), 9.0, false);
    for section in body.sections() {
        w.section(section.title);
        for table in section.tables {
            w.heading(&table.caption());
            w.paragraph(&table.definition.definition, 9.0, false);
            let rows: Vec<Vec<String>> = table
                .rows
                .iter()
                .map(|c| {
                    vec![
                        super::Table::label(c),
                        c.value_text().replace('–', "-"),
                        c.count_text().replace('–', "-"),
                        c.interval_text(),
                    ]
                })
                .collect();
            w.table(&COLUMNS, &rows);
        }
    }
    w.section("Methods");
    for method in crate::reports::METHODS.iter().take(3) {
        w.paragraph(method, 9.0, false);
    }
    let footer = format!("{} · {} · version {version}", body.name, body.period_label());
    w.finish(&title, &body.name, &footer, published_at)
}
