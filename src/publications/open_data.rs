//! A publication's open data (docs/publications.md, "Open data"): its
//! cells as CSV and JSON with the columns `COLUMNS`, a data dictionary of
//! its measures, and a Frictionless Data Package descriptor naming each
//! file with its SHA-256. Made once, when the publication is made, and
//! stored as made.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Body, Cell};

pub const COLUMNS: [&str; 9] = [
    "measure_id",
    "grouping",
    "group",
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "suppressed",
];

/// What each column holds, for the descriptor's schema and the pages.
pub const COLUMN_MEANINGS: [(&str, &str, &str); 9] = [
    ("measure_id", "string", "The measure's id (T1 … Q1), defined in dictionary.csv."),
    (
        "grouping",
        "string",
        "What the rows of a grouped measure are grouped by (race, gender, age, kind, agency, …); empty for the whole agency or state.",
    ),
    ("group", "string", "The group's code (for an agency, its ORI); empty for the whole agency or state."),
    ("numerator", "number", "The count (or hours, dollars) the value is made of; empty when suppressed."),
    ("denominator", "number", "What the numerator is divided by; empty for a count and when suppressed."),
    (
        "value",
        "number",
        "The measure's value in its unit (percent for rates); empty for no data and when suppressed.",
    ),
    (
        "ci_low",
        "number",
        "The lower end of the 95% interval (Wilson for rates; Wald for a model's estimate); empty where none.",
    ),
    ("ci_high", "number", "The upper end of the 95% interval; empty where none."),
    (
        "suppressed",
        "boolean",
        "true when a figure was from 1 to 10, or could reveal one: every figure of the row is then empty.",
    ),
];

pub const CSV_FILE: &str = "measures.csv";
pub const JSON_FILE: &str = "measures.json";
pub const DICTIONARY_FILE: &str = "dictionary.csv";
pub const PACKAGE_FILE: &str = "datapackage.json";
pub const PDF_FILE: &str = "report.pdf";

fn number(v: Option<f64>) -> String {
    v.map(|v| {
        let text = format!("{v:.4}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text == "-0" { "0".to_string() } else { text.to_string() }
    })
    .unwrap_or_default()
}

fn record(cell: &Cell) -> [String; 9] {
    let c = cell.shown();
    [
        c.measure_id.clone(),
        c.grouping.clone(),
        c.group.clone(),
        number(c.numerator),
        number(c.denominator),
        number(c.value),
        number(c.ci_low),
        number(c.ci_high),
        c.suppressed.to_string(),
    ]
}

pub fn csv(body: &Body) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    for cell in &body.cells {
        w.write_record(record(cell))?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned())
}

/// The same rows as `csv`, numbers as JSON numbers and empty ones null.
pub fn json(body: &Body) -> String {
    let rows: Vec<serde_json::Value> = body
        .cells
        .iter()
        .map(|cell| {
            let c = cell.shown();
            json!({
                "measure_id": c.measure_id, "grouping": c.grouping, "group": c.group,
                "numerator": c.numerator, "denominator": c.denominator, "value": c.value,
                "ci_low": c.ci_low, "ci_high": c.ci_high, "suppressed": c.suppressed,
            })
        })
        .collect();
    let out = json!({
        "agency": body.name, "ori": body.ori, "period": { "from": body.period_from, "to": body.period_to },
        "rows": rows,
    });
    serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"
}

pub fn dictionary(body: &Body) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["measure_id", "section", "name", "unit", "definition"])?;
    for d in &body.measures {
        w.write_record([&d.id, &d.section, &d.name, &d.unit, &d.definition])?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| e.into_error())?).into_owned())
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The Frictionless Data Package descriptor (datapackage.json, Data
/// Package v1 with Table Schemas) of the files, each with its SHA-256.
pub fn datapackage(body: &Body, name: &str, files: &[(&str, &[u8])]) -> String {
    let fields: Vec<serde_json::Value> = COLUMN_MEANINGS
        .iter()
        .map(|(name, kind, description)| json!({ "name": name, "type": kind, "description": description }))
        .collect();
    let resource = |path: &str, bytes: &[u8]| {
        let mut r = json!({ "name": path.replace('.', "-"), "path": path, "bytes": bytes.len(),
            "hash": format!("sha256:{}", sha256(bytes)) });
        match path {
            CSV_FILE => {
                r["format"] = json!("csv");
                r["mediatype"] = json!("text/csv");
                r["encoding"] = json!("utf-8");
                r["schema"] = json!({ "fields": fields, "missingValues": [""] });
            }
            DICTIONARY_FILE => {
                r["format"] = json!("csv");
                r["mediatype"] = json!("text/csv");
                r["encoding"] = json!("utf-8");
                r["schema"] = json!({ "fields": [
                    { "name": "measure_id", "type": "string", "description": "The id used in measures.csv." },
                    { "name": "section", "type": "string", "description": "The part of the report the measure is in." },
                    { "name": "name", "type": "string", "description": "The measure's name." },
                    { "name": "unit", "type": "string", "description": "The unit of its value: percent, count, hours, days, dollars or ratio." },
                    { "name": "definition", "type": "string", "description": "How it is computed." },
                ]});
            }
            JSON_FILE => {
                r["format"] = json!("json");
                r["mediatype"] = json!("application/json");
            }
            _ => {
                r["format"] = json!("pdf");
                r["mediatype"] = json!("application/pdf");
            }
        }
        r
    };
    let out = json!({
        "name": name,
        "title": format!("287(g) oversight measures: {}, {}", body.name, body.period_label()),
        "description": "Aggregate 287(g) program measures as published, frozen when published. Any count from 1 to 10 is suppressed, with complementary suppression; no record is included.",
        "licenses": [{ "name": "ODC-PDDL-1.0", "path": "https://opendatacommons.org/licenses/pddl/", "title": "Open Data Commons Public Domain Dedication and License v1.0" }],
        "temporal": { "start": body.period_from, "end": body.period_to },
        "resources": files.iter().map(|(path, bytes)| resource(path, bytes)).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&out).unwrap_or_default() + "\n"
}
