//! Oversight Ledger: an agency's 287(g) compliance records, the measures
//! derived from them, and a hash-chained audit log that auditors can verify.
//!
//! One module per domain, each with the same inner shape: `mod.rs` (types,
//! validation, rules), `store.rs` (queries), `routes.rs` (handlers and its
//! `router()`), and templates under `templates/<domain>/`.

pub mod agency;
pub mod app;
pub mod arrests;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod canonical;
pub mod cli;
pub mod complaints;
pub mod compliance;
pub mod config;
pub mod copy;
pub mod db;
pub mod demo;
pub mod documents;
pub mod error;
pub mod exchange;
pub mod measures;
pub mod officers;
pub mod packages;
pub mod pay;
pub mod publications;
pub mod reports;
pub mod state;
pub mod stops;
pub mod supervision;
pub mod training;
pub mod users;
pub mod web;
