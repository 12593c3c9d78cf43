//! The public list of 287(g) agreements in force on 3 July 2025 (ICE's
//! participating-agencies sheets as normalised by the 287(g) Explorer
//! project, MIT licence), embedded so that an administrator can fill the
//! agency profile from the agency's ORI at first start.

use std::sync::LazyLock;

#[derive(Clone, Debug, PartialEq)]
pub struct Agreement {
    pub state: &'static str,
    pub agency: String,
    pub ori: String,
    pub model: &'static str,
}

static LIST: LazyLock<Vec<Agreement>> = LazyLock::new(|| {
    let mut reader = csv::Reader::from_reader(include_str!("agreements-2025-07-03.csv").as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| {
            let model = match r.get(6)? {
                "Jail Enforcement Model" => "JEM",
                "Task Force Model" => "TFM",
                "Warrant Service Officer" => "WSO",
                _ => return None,
            };
            Some(Agreement {
                state: state_code(r.get(0)?)?,
                agency: title_case(r.get(3)?),
                ori: r.get(5)?.trim().to_uppercase(),
                model,
            })
        })
        .collect()
});

/// What the list says of an ORI: the agency's name, state and models.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub name: String,
    pub state: &'static str,
    pub models: Vec<&'static str>,
}

pub fn lookup(ori: &str) -> Option<Found> {
    let ori = ori.trim().to_uppercase();
    if ori.len() != 9 {
        return None;
    }
    let rows: Vec<&Agreement> = LIST.iter().filter(|a| a.ori == ori).collect();
    let first = rows.first()?;
    let mut models: Vec<&'static str> = rows.iter().map(|a| a.model).collect();
    models.sort_by_key(|m| crate::agency::MODELS.iter().position(|(c, _)| c == m));
    models.dedup();
    Some(Found { name: first.agency.clone(), state: first.state, models })
}

fn title_case(lower: &str) -> String {
    lower
        .split_whitespace()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn state_code(name: &str) -> Option<&'static str> {
    const NAMES: [(&str, &str); 52] = [
        ("ALABAMA", "AL"),
        ("ALASKA", "AK"),
        ("ARIZONA", "AZ"),
        ("ARKANSAS", "AR"),
        ("CALIFORNIA", "CA"),
        ("COLORADO", "CO"),
        ("CONNECTICUT", "CT"),
        ("DELAWARE", "DE"),
        ("DISTRICT OF COLUMBIA", "DC"),
        ("FLORIDA", "FL"),
        ("GEORGIA", "GA"),
        ("HAWAII", "HI"),
        ("IDAHO", "ID"),
        ("ILLINOIS", "IL"),
        ("INDIANA", "IN"),
        ("IOWA", "IA"),
        ("KANSAS", "KS"),
        ("KENTUCKY", "KY"),
        ("LOUISIANA", "LA"),
        ("MAINE", "ME"),
        ("MARYLAND", "MD"),
        ("MASSACHUSETTS", "MA"),
        ("MICHIGAN", "MI"),
        ("MINNESOTA", "MN"),
        ("MISSISSIPPI", "MS"),
        ("MISSOURI", "MO"),
        ("MONTANA", "MT"),
        ("NEBRASKA", "NE"),
        ("NEVADA", "NV"),
        ("NEW HAMPSHIRE", "NH"),
        ("NEW JERSEY", "NJ"),
        ("NEW MEXICO", "NM"),
        ("NEW YORK", "NY"),
        ("NORTH CAROLINA", "NC"),
        ("NORTH DAKOTA", "ND"),
        ("OHIO", "OH"),
        ("OKLAHOMA", "OK"),
        ("OREGON", "OR"),
        ("PENNSYLVANIA", "PA"),
        ("RHODE ISLAND", "RI"),
        ("SOUTH CAROLINA", "SC"),
        ("SOUTH DAKOTA", "SD"),
        ("TENNESSEE", "TN"),
        ("TEXAS", "TX"),
        ("UTAH", "UT"),
        ("VERMONT", "VT"),
        ("VIRGINIA", "VA"),
        ("WASHINGTON", "WA"),
        ("WEST VIRGINIA", "WV"),
        ("WISCONSIN", "WI"),
        ("WYOMING", "WY"),
        ("PUERTO RICO", "PR"),
    ];
    NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agency_with_two_models_is_one_agency() {
        let found = lookup("fl0110000").unwrap();
        assert_eq!(found.name, "Collier County Sheriff");
        assert_eq!(found.state, "FL");
        assert_eq!(found.models, vec!["JEM", "TFM"]);
    }

    #[test]
    fn unknown_or_malformed_oris_find_nothing() {
        assert_eq!(lookup("ZZ9999999"), None);
        assert_eq!(lookup("NA"), None);
    }

    #[test]
    fn the_whole_list_is_read() {
        assert!(LIST.len() > 700, "{}", LIST.len());
    }
}
