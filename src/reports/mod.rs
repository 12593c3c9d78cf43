//! Oversight reports (issue 6): every derived measure of a period in a PDF
//! an auditor can rely on. Each report prints the SHA-256 fingerprint of
//! the records it was computed from and the audit log's head at
//! generation; the issued file is stored with its own SHA-256, so
//! `verify` can say whether a file is one this system issued, unaltered,
//! and whether the records behind it still hash to the printed
//! fingerprint.

pub mod forms;
pub mod pdf;
pub mod records;
pub mod routes;
pub mod store;
mod tagged;

use serde::Serialize;

use crate::measures::Measure;
use crate::measures::equity::Grouped;
use crate::measures::store::Sheet;
use crate::web::format_instant;
use pdf::{Column, Paper, Writer};

/// One issued report, as stored (never changed).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Report {
    pub id: i64,
    pub number: String,
    pub period_from: String,
    pub period_to: String,
    pub generated_at: i64,
    pub generated_by: String,
    pub data_sha256: String,
    pub audit_seq: i64,
    pub audit_head: String,
    pub file_sha256: String,
    pub file_name: String,
    pub size: i64,
    /// The form of `data_sha256` (`forms`): checked in the form it was made in.
    pub data_form: String,
    /// The signed checkpoint of the audit log the cover prints (docs/audit.md).
    pub checkpoint: String,
    /// The key that blinds the leaves of a v4 record tree (`records`):
    /// never shown, printed or exported.
    #[serde(skip)]
    pub record_key: Vec<u8>,
}

impl Report {
    pub fn generated_text(&self) -> String {
        format_instant(self.generated_at)
    }
    pub fn period_text(&self) -> String {
        format!("{} to {}", self.period_from, self.period_to)
    }
}

/// What the cover prints besides the measures.
pub struct Cover {
    pub agency: String,
    pub ori: String,
    pub number: String,
    pub generated_at: i64,
    pub generated_by: String,
    pub data_sha256: String,
    pub audit_seq: i64,
    pub audit_head: String,
    /// The signed checkpoint of the log at that head (a C2SP note).
    pub checkpoint: String,
}

/// The report's sections: (title, measure ids).
pub const SECTIONS: [(&str, &[&str]); 7] = [
    ("Training and authorization", &["T1", "T2", "T3", "T4", "T5"]),
    ("Supervision", &["S1", "S2", "S3", "S4", "S5"]),
    ("Enforcement focus", &["E1", "E2", "E3", "E4", "E5", "E6"]),
    ("Stops and equity", &["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D9a"]),
    ("Accountability", &["C1", "C2", "C3", "C4"]),
    ("Reimbursement", &["R1", "R2"]),
    ("Data quality", &["Q1"]),
];

/// The early-warning section: a summary sentence and a row per flagged
/// comparison (`measures::warning::rows`).
#[derive(Clone, Debug, Default)]
pub struct EarlyWarningPart {
    pub summary: String,
    pub flagged: Vec<Vec<String>>,
}

/// The methods of issue 16, in words a panel member can follow, with
/// their sources (docs/measures.md, "Statistical methods").
pub const METHODS: [&str; 5] = [
    "Rates (D3 to D8 and the group tables): the 95% interval is the Wilson score interval (Wilson 1927): the range of true rates that would make the count seen unsurprising. It stays inside 0 to 100% and is honest for small groups.",
    "Ratios to the reference group: the 95% interval of the log ratio (Katz et al. 1978). Where either group has no events the interval is not defined and the report says so. \"Beyond chance at 95%\" means the interval leaves out 1; with many groups, only those still beyond chance after the Benjamini-Hochberg correction (1995) at 5% are marked.",
    "Hit rates (D4): the difference from the reference group with the Newcombe hybrid score interval (Newcombe 1998), the outcome test of Knowles, Persico and Todd (2001).",
    "D9a, veil of darkness adjusted (Grogger and Ridgeway 2006; Pierson et al. 2020, Nature Human Behaviour 4: 736-745): among stops in the evening window where it is light on some days and dark on others at the same clock time, a logistic regression of \"the person stopped is of a minority group\" on darkness, with the clock time as a natural cubic spline of 6 degrees of freedom and the district as a fixed effect; the odds ratio for darkness with its 95% Wald interval. Below 1: minority drivers are a smaller share of stops when it is dark and race is harder to see. D9 is the same comparison without the adjustment.",
    "Officer early-warning list (Ridgeway and MacDonald 2009, JASA 104: 661-668): for each officer with at least 50 stops, the other officers' stops are weighted to the officer's mix of hour, weekday, month and district (propensity weights from a logistic regression); the officer's share of each group and search rate are compared with the weighted figures, with a delta-method interval. Officers are flagged against the spread of all officers' results (the empirical null, Efron 2004) with the Benjamini-Hochberg false discovery rate at 5%. A flag prompts a review; it is not a finding.",
];

/// A row of the appendix: officer, model, status, reason, next due.
pub type OfficerRow = [String; 5];

fn measure_rows(measures: &[&Measure]) -> Vec<Vec<String>> {
    measures
        .iter()
        .map(|m| {
            vec![
                format!("{} {}", m.id, m.name),
                m.definition.to_string(),
                m.target_text(),
                m.value_with_fraction(),
                m.status().to_string(),
                m.previous_text(),
                m.completeness.clone(),
            ]
        })
        .collect()
}

const MEASURE_COLUMNS: [Column<'static>; 7] = [
    Column { header: "Measure", width: 70.0 },
    Column { header: "Definition", width: 135.0 },
    Column { header: "Target", width: 45.0 },
    Column { header: "Value", width: 70.0 },
    Column { header: "Status", width: 40.0 },
    Column { header: "Previous period", width: 50.0 },
    Column { header: "Completeness", width: 85.0 },
];

fn grouped_table(w: &mut Writer, g: &Grouped) {
    let reference =
        if g.reference.is_empty() { String::new() } else { format!("; reference group {}", g.reference) };
    // D1 and D7 have a reference group but no ratio by definition.
    let with_ratio = g.rows.iter().any(|r| r.ratio.is_some());
    w.heading(&format!("{} {} by {}", g.id, g.name, g.grouping));
    w.paragraph(
        &format!("{}{reference}. Intervals are 95%: Wilson for a rate, Katz for a ratio; groups with fewer than 30 events are marked small sample.", g.definition),
        8.0,
        false,
    );
    let rows: Vec<Vec<String>> = g
        .rows
        .iter()
        .map(|r| {
            vec![
                r.label.clone(),
                format!("{} of {}", r.numerator, r.denominator),
                r.value_text(),
                r.interval_text(),
                if with_ratio { r.ratio_text() } else { String::new() },
                if with_ratio { r.ratio_interval_text() } else { String::new() },
                r.notes(),
            ]
        })
        .collect();
    let columns = [
        Column { header: "Group", width: 100.0 },
        Column { header: "Count", width: 60.0 },
        Column { header: "Rate", width: 37.0 },
        Column { header: "95% interval", width: 60.0 },
        Column { header: "Ratio", width: 33.0 },
        Column { header: "Ratio's 95% interval", width: 75.0 },
        Column { header: "Notes", width: 130.0 },
    ];
    w.table(&columns, &rows);
}

/// Lays the report out on `paper` and returns the PDF's bytes.
pub fn render(
    sheet: &Sheet,
    cover: &Cover,
    officers: &[OfficerRow],
    warning: &EarlyWarningPart,
    paper: Paper,
) -> anyhow::Result<Vec<u8>> {
    let period = sheet.period;
    let title = format!("Oversight report {}: {}", cover.number, period.label());
    let mut w = Writer::new(&title, paper)?;
    w.title("Oversight report");
    w.paragraph(&format!("{} (ORI {})", cover.agency, cover.ori), 14.0, false);
    w.paragraph(&format!("287(g) program measures for {}", period.label()), 12.0, false);
    w.paragraph(&format!("Report number {}", cover.number), 11.0, true);
    w.paragraph(
        &format!("Generated {} by {}", format_instant(cover.generated_at), cover.generated_by),
        10.0,
        false,
    );
    w.paragraph("Data fingerprint (SHA-256 of the records behind this report):", 10.0, true);
    w.paragraph(&cover.data_sha256, 9.0, false);
    w.paragraph(&format!("Audit log head at generation (entry {}):", cover.audit_seq), 10.0, true);
    w.paragraph(&cover.audit_head, 9.0, false);
    w.checkpoint(
        "Signed checkpoint of the audit log at generation (origin, entries, Merkle root, signature):",
        &cover.checkpoint,
    );
    w.paragraph(
        "To check this report: oversight report verify FILE.pdf, or the verification page for auditors. It says whether \
         the file is the one this system issued, unaltered, whether the records still hash to the fingerprint above, \
         and whether the audit log today still extends the checkpoint above (docs/audit.md).",
        9.0,
        false,
    );

    w.new_page();
    w.section("Executive summary");
    w.paragraph("Measures off target first; every value with its numerator and denominator.", 9.0, false);
    let mut ordered: Vec<&Measure> = sheet.measures.iter().collect();
    ordered.sort_by_key(|m| match m.status() {
        "not met" => 0,
        "met" => 2,
        _ => 1,
    });
    let summary: Vec<Vec<String>> = ordered
        .iter()
        .map(|m| {
            vec![
                format!("{} {}", m.id, m.name),
                m.value_with_fraction(),
                m.target_text(),
                m.status().to_string(),
                m.previous_text(),
            ]
        })
        .collect();
    let columns = [
        Column { header: "Measure", width: 170.0 },
        Column { header: "Value", width: 110.0 },
        Column { header: "Target", width: 70.0 },
        Column { header: "Status", width: 70.0 },
        Column { header: "Previous period", width: 75.0 },
    ];
    w.table(&columns, &summary);

    for (title, ids) in SECTIONS {
        w.section(title);
        let scalar: Vec<&Measure> = sheet.measures.iter().filter(|m| ids.contains(&m.id)).collect();
        if !scalar.is_empty() {
            w.paragraph(&format!("Previous period: {}.", period.previous().label()), 8.0, false);
            w.table(&MEASURE_COLUMNS, &measure_rows(&scalar));
        }
        for g in sheet.grouped.iter().filter(|g| ids.contains(&g.id)) {
            if g.id == "D3" || g.id == "D4" {
                let bars: Vec<(String, Option<f64>)> =
                    g.rows.iter().map(|r| (r.label.clone(), r.value)).collect();
                w.bar_chart(&format!("{} {} by {} (percent)", g.id, g.name, g.grouping), &bars);
            }
            grouped_table(&mut w, g);
        }
    }

    w.section("Officer early-warning list");
    w.paragraph(crate::measures::warning::WORDING, 8.5, false);
    w.paragraph(&warning.summary, 9.0, false);
    if !warning.flagged.is_empty() {
        let columns = [
            Column { header: "Officer", width: 90.0 },
            Column { header: "Stops", width: 70.0 },
            Column { header: "Compared", width: 85.0 },
            Column { header: "Officer", width: 38.0 },
            Column { header: "Peers", width: 38.0 },
            Column { header: "Ratio (95% interval)", width: 100.0 },
            Column { header: "Reading", width: 74.0 },
        ];
        w.table(&columns, &warning.flagged);
    }

    w.section("Reported measures");
    w.paragraph("Figures from outside this system's records, logged with their source document and confirmed by someone other than the one who logged them. They are reported, not derived: this report did not compute them.", 8.5, false);
    if sheet.reported.is_empty() {
        w.paragraph("No logged value falls within this period.", 9.0, false);
    } else {
        let columns = [
            Column { header: "Measure", width: 100.0 },
            Column { header: "Period", width: 75.0 },
            Column { header: "Value (reported)", width: 65.0 },
            Column { header: "Target", width: 50.0 },
            Column { header: "Source", width: 95.0 },
            Column { header: "Logged and confirmed", width: 110.0 },
        ];
        let rows: Vec<Vec<String>> = sheet
            .reported
            .iter()
            .map(|r| {
                vec![
                    format!("{} {}", r.measure.code, r.measure.name),
                    format!("{} to {}", r.value.period_from, r.value.period_to),
                    format!("{} ({})", r.value_text(), r.status()),
                    r.measure.target_text(),
                    format!("{}; {}", r.measure.source, r.value.source_document),
                    format!("{}; {}", r.value.logged_text(), r.value.confirmation_text()),
                ]
            })
            .collect();
        w.table(&columns, &rows);
    }

    w.section("Appendix: officers' authorization and training");
    w.paragraph(
        &format!("Status of each designated officer for each model on {}.", period.to_text()),
        8.0,
        false,
    );
    let columns = [
        Column { header: "Officer", width: 140.0 },
        Column { header: "Model", width: 45.0 },
        Column { header: "Status", width: 80.0 },
        Column { header: "Reason", width: 150.0 },
        Column { header: "Next due", width: 80.0 },
    ];
    let rows: Vec<Vec<String>> = officers.iter().map(|r| r.to_vec()).collect();
    w.table(&columns, &rows);

    w.section("Methods");
    w.paragraph("Every measure is computed from the records for the period, from raw counts; values are rounded only for display. A zero denominator is shown as no data. The previous period of a calendar month, quarter or year is the calendar month, quarter or year before it; of any other range, the range of equal length that ends the day before.", 9.0, false);
    // Each measure's definition, as a list: one item a measure.
    let mut definitions: Vec<String> = sheet
        .measures
        .iter()
        .map(|m| format!("{} {}: {}. Target: {}.", m.id, m.name, m.definition, m.target_text()))
        .collect();
    let mut seen = Vec::new();
    for g in &sheet.grouped {
        if !seen.contains(&g.id) {
            seen.push(g.id);
            definitions.push(format!("{} {}: {}.", g.id, g.name, g.definition));
        }
    }
    w.list(&definitions, 8.5);
    w.paragraph("Rate ratio to the reference group: (n of the group ÷ stops of the group) ÷ (n of the reference ÷ stops of the reference). Reference groups: White (race or ethnicity), male (gender), 25-34 (age). A stop perceived as several groups counts once, as \"more than one\". Groups with fewer than 30 events are flagged as small samples.", 8.5, false);
    w.paragraph("Data fingerprint: SHA-256 over the JSON of each record (its fields in their fixed order) of, in this order, the stops, arrests, complaints, pay periods and leads of this period and the previous one, every sign-off, the logged measures and their values, and every officer, designation and training record, each record on its own line after its kind. Recomputing it from the same records gives the same value.", 8.5, false);
    w.paragraph("D2 appears once the agency has set its population shares, and D9 once it has set its latitude and longitude (civil dusk from NOAA's solar equations).", 8.5, false);
    w.heading("How sure each figure is");
    w.list(&METHODS.map(String::from), 8.5);

    let footer = format!("{} · {} · {}", cover.agency, cover.number, period.label());
    w.finish(&title, &cover.generated_by, &footer, cover.generated_at)
}
