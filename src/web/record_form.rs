//! A record form as typed: single values and multi-select lists of codes,
//! with the checks every record form shares. Each domain validates its own
//! fields with these, and the form comes back to the user as it was typed.

use std::collections::HashMap;

use crate::web::FieldErrors;

pub type Choices = &'static [(&'static str, &'static str)];

#[derive(Clone, Debug, Default)]
pub struct RecordForm {
    pub fields: HashMap<String, String>,
    pub lists: HashMap<String, Vec<String>>,
}

impl RecordForm {
    /// Reads submitted pairs; `list_fields` are the names that repeat.
    pub fn from_pairs(pairs: Vec<(String, String)>, list_fields: &[&str]) -> Self {
        let mut form = RecordForm::default();
        for (key, value) in pairs {
            if list_fields.contains(&key.as_str()) {
                form.lists.entry(key).or_default().push(value);
            } else if key != "_csrf" {
                form.fields.insert(key, value);
            }
        }
        form
    }

    pub fn set(&mut self, field: &str, value: impl ToString) {
        self.fields.insert(field.to_string(), value.to_string());
    }

    pub fn set_list(&mut self, field: &str, codes: Vec<String>) {
        self.lists.insert(field.to_string(), codes);
    }

    pub fn value(&self, field: &str) -> &str {
        self.fields.get(field).map(String::as_str).unwrap_or("")
    }
    pub fn checked(&self, field: &str) -> bool {
        !self.value(field).is_empty()
    }
    pub fn has(&self, list: &str, code: &&str) -> bool {
        self.lists.get(list).is_some_and(|l| l.iter().any(|c| c == code))
    }

    pub fn codes(&self, errors: &mut FieldErrors, list: &'static str, choices: Choices) -> Vec<String> {
        let values = self.lists.get(list).cloned().unwrap_or_default();
        let mut codes: Vec<String> =
            choices.iter().map(|(c, _)| c.to_string()).filter(|c| values.contains(c)).collect();
        codes.dedup();
        if codes.len() != values.iter().collect::<std::collections::BTreeSet<_>>().len() {
            errors.add(list, "Choose from the listed options.");
        }
        codes
    }

    pub fn one_of(
        &self,
        errors: &mut FieldErrors,
        field: &'static str,
        choices: Choices,
        message: &str,
    ) -> String {
        let value = self.value(field).trim();
        if choices.iter().any(|(c, _)| *c == value) {
            value.to_string()
        } else {
            errors.add(field, message);
            String::new()
        }
    }

    pub fn number(
        &self,
        errors: &mut FieldErrors,
        field: &'static str,
        range: std::ops::RangeInclusive<i64>,
        required: bool,
        message: &str,
    ) -> Option<i64> {
        let value = self.value(field).trim();
        if value.is_empty() {
            if required {
                errors.add(field, message);
            }
            return None;
        }
        match value.parse::<i64>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                errors.add(field, message);
                None
            }
        }
    }

    pub fn text(
        &self,
        errors: &mut FieldErrors,
        field: &'static str,
        max: usize,
        required: bool,
        message: &str,
    ) -> String {
        let value = self.value(field).trim().to_string();
        if (required && value.is_empty()) || value.chars().count() > max {
            errors.add(field, message);
        }
        value
    }

    pub fn flag(&self, field: &str) -> i64 {
        self.checked(field) as i64
    }

    /// A date field, not in the future; `required` adds an error when empty.
    pub fn date(
        &self,
        errors: &mut FieldErrors,
        field: &'static str,
        label: &str,
        required: bool,
        today: time::Date,
    ) -> Option<time::Date> {
        let date = crate::web::optional_date(errors, field, label, self.value(field));
        if date.is_none() && required && !errors.has(field) {
            errors.add(field, format!("Enter {}.", label.to_lowercase()));
        }
        if date.is_some_and(|d| d > today) {
            errors.add(field, format!("{label} cannot be in the future."));
        }
        date
    }

    /// A time on the 24-hour clock, HH:MM.
    pub fn time(&self, errors: &mut FieldErrors, field: &'static str, required: bool) -> Option<String> {
        let value = self.value(field).trim();
        if value.is_empty() && !required {
            return None;
        }
        if is_clock_time(value) {
            Some(value.to_string())
        } else {
            errors.add(field, "Enter the time on the 24-hour clock, HH:MM (for example 21:45).");
            None
        }
    }
}

/// "HH:MM" with an hour under 24 and minutes under 60.
pub fn is_clock_time(value: &str) -> bool {
    value.len() == 5
        && value.as_bytes()[2] == b':'
        && value[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && value[3..].parse::<u8>().is_ok_and(|m| m < 60)
}
