//! The command line: the product's contract for operators and scripts.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::agency::Scope;
use crate::audit::{self, Actor, Event};
use crate::auth::Role;
use crate::config::{Config, DEFAULT_DATABASE_URL};
use crate::web::format_date;
use crate::{app, backup, db, demo, users};

#[derive(Parser)]
#[command(
    name = "oversight",
    version,
    about = "Oversight Ledger: 287(g) compliance records with a verifiable audit log"
)]
pub struct Cli {
    /// Database URL, for example sqlite://data/oversight.db
    #[arg(long, global = true, env = "OVERSIGHT_DATABASE_URL")]
    database_url: Option<String>,
    /// Folder of uploaded documents and issued reports' files. Default: a
    /// `files` folder beside the SQLite file, or ./data/files with a
    /// PostgreSQL URL (every app server must then reach the same folder).
    #[arg(long, global = true, env = "OVERSIGHT_FILES_DIR")]
    files_dir: Option<std::path::PathBuf>,
    /// The agency whose records a command reads or writes, by its ORI; may
    /// be left out while the deployment holds one agency.
    #[arg(long, global = true, env = "OVERSIGHT_AGENCY", value_name = "ORI")]
    agency: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web application.
    Serve(ServeArgs),
    /// Create (or recreate) a demo database with realistic records and serve it.
    Demo(DemoArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// The agencies of the deployment (a state's deployment holds many).
    #[command(subcommand)]
    Agency(AgencyCommand),
    /// Export or verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import records from CSV: all rows or none.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export records as CSV.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Copy every record, document, sign-off, report and the whole audit
    /// log into a new, empty database (any two backends), then verify it.
    Copy {
        /// The database copied from, for example sqlite://data/oversight.db
        #[arg(long)]
        from: String,
        /// The new database, for example postgres://ledger@db.example/county
        #[arg(long)]
        to: String,
        /// The source's files folder (default: as for its URL).
        #[arg(long)]
        from_files_dir: Option<std::path::PathBuf>,
        /// The target's files folder (default: as for its URL).
        #[arg(long)]
        to_files_dir: Option<std::path::PathBuf>,
    },
    /// Write a consistent copy of the live database; with --agency ORI, a
    /// new SQLite file of that agency alone (from either backend).
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Generate an oversight report PDF (stored and listed on /reports),
    /// or `report verify FILE.pdf`.
    Report(ReportArgs),
    /// Checks and repairs derived data.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// The retention of personal values (docs/retention.md): without a
    /// subcommand, the setting and how many old arrests may be purged.
    Retention {
        #[command(subcommand)]
        command: Option<RetentionCommand>,
    },
    /// Print every derived measure of docs/measures.md for a period.
    Metrics {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
        /// Every agency's measures and the statewide figures, instead of
        /// one agency's.
        #[arg(long)]
        state: bool,
    },
    /// Publish a calendar month, quarter or year at /public (docs/publications.md):
    /// its measures with small cells suppressed, frozen, with open data and
    /// a signed checkpoint. Again for the same period: a correction.
    Publish {
        /// First day, YYYY-MM-DD (the first of a month).
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (the last of a month).
        #[arg(long)]
        to: String,
        /// The statewide publication (every agency), instead of one agency's.
        #[arg(long)]
        state: bool,
        /// What changed and why: required to publish a period again.
        #[arg(long, default_value = "")]
        correction: String,
    },
    /// Check published files against a publication's signed checkpoint.
    #[command(subcommand)]
    Publication(PublicationCommand),
    /// Print the officer early-warning list of a period as JSON (a prompt
    /// for supervisory review, not a finding; docs/measures.md).
    EarlyWarning {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Officers with fewer stops in the period are not compared.
        #[arg(long, default_value_t = crate::measures::warning::MINIMUM_STOPS)]
        minimum: i64,
    },
}

#[derive(Subcommand)]
enum PublicationCommand {
    /// Whether FILEs are the files a publication listed in its signed
    /// checkpoint (checkpoint.txt from its page); exit 1 if not.
    Check {
        checkpoint: std::path::PathBuf,
        files: Vec<std::path::PathBuf>,
        /// The verifier key shown on the publication's page (default: this
        /// deployment's key for the checkpoint's origin).
        #[arg(long)]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Purge the name and date of birth of every arrest older than the
    /// agency's retention period (each purge audited; every fingerprint
    /// and report still verifies).
    Purge,
}

#[derive(Subcommand)]
enum MaintenanceCommand {
    /// Rebuild the stop aggregates from the records and say whether the
    /// stored ones differed (exit 1 if they did; they are then replaced).
    CheckAggregates,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct ReportArgs {
    #[command(subcommand)]
    verify: Option<ReportCommand>,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD.
    #[arg(long)]
    to: Option<String>,
    /// Where to write the PDF.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// The statewide report over every agency, instead of one agency's.
    #[arg(long)]
    state: bool,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Say whether FILE is a report this system issued, unaltered, and
    /// whether its records still hash to the printed fingerprint.
    Verify { file: std::path::PathBuf },
    /// Prove that one record, as it stands, was part of the data behind
    /// the report FILE, without the others (report form v4): prints the
    /// proof, to keep in a file and check with `report check-record`.
    ProveRecord {
        file: std::path::PathBuf,
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::reports::store::RECORD_KINDS))]
        kind: String,
        id: i64,
    },
    /// Check a proof `prove-record` printed, from the file alone (no
    /// database): it leads to the fingerprint it names, which the report's
    /// cover prints.
    CheckRecord { proof: std::path::PathBuf },
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Minutes without activity before a session ends.
    #[arg(long, default_value_t = 30, env = "OVERSIGHT_IDLE_MINUTES")]
    idle_minutes: u64,
    /// Hours after sign-in before a session ends whatever the activity.
    #[arg(long, default_value_t = 12, env = "OVERSIGHT_ABSOLUTE_HOURS")]
    absolute_hours: u64,
    /// The site is served over HTTPS (behind a proxy): Secure cookies and HSTS.
    #[arg(long, env = "OVERSIGHT_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Largest document upload, in MiB.
    #[arg(long, default_value_t = 25, env = "OVERSIGHT_UPLOAD_LIMIT_MB")]
    upload_limit_mb: usize,
    /// Requests a second each client address may make to the public
    /// pages (with bursts of three seconds' worth); behind a proxy, the
    /// proxy's address is the client's, so raise it there.
    #[arg(long, default_value_t = 20, env = "OVERSIGHT_PUBLIC_RATE")]
    public_rate: u32,
}

#[derive(Args, Clone)]
struct DemoArgs {
    /// A state's deployment: the demo agency and eleven more agencies of
    /// Florida, and a user of each state role.
    #[arg(long)]
    state: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password comes from OVERSIGHT_PASSWORD or standard input.
    Add {
        username: String,
        /// administrator, clerk, supervisor, reviewer or auditor; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The person's name as shown in the product (default: the username).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum AgencyCommand {
    /// Add an agency, by its ORI. Name, state and models come from the
    /// embedded list of 287(g) agreements unless given.
    Add {
        ori: String,
        /// The agency's name (default: from the list of agreements).
        #[arg(long)]
        name: Option<String>,
        /// The state's two letters (default: from the list, or the ORI's first two letters).
        #[arg(long)]
        state: Option<String>,
        /// JEM, TFM or WSO; repeat for several (default: from the list).
        #[arg(long = "model")]
        models: Vec<String>,
        /// The time zone its dates are kept in, for example America/Chicago.
        #[arg(long, default_value = "America/New_York")]
        time_zone: String,
    },
    /// List the agencies with their ORI, users, officers and stops.
    List,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StopFormat {
    /// The Stanford Open Policing Project's standardized columns.
    Opp,
    /// The product's own columns (see the data dictionary).
    Native,
}

impl StopFormat {
    fn format(self) -> crate::stops::import::Format {
        match self {
            StopFormat::Opp => crate::stops::import::Format::Opp,
            StopFormat::Native => crate::stops::import::Format::Native,
        }
    }
}

#[derive(Clone, Copy)]
enum RecordKind {
    Arrests,
    Complaints,
    Pay,
    Leads,
}

impl RecordKind {
    fn kind(self) -> crate::exchange::Kind {
        match self {
            RecordKind::Arrests => crate::exchange::Kind::Arrests,
            RecordKind::Complaints => crate::exchange::Kind::Complaints,
            RecordKind::Pay => crate::exchange::Kind::Pay,
            RecordKind::Leads => crate::exchange::Kind::Leads,
        }
    }
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Arrests in the product's own CSV (with names: the command line is the operator's).
    Arrests {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Complaints in the product's own CSV.
    Complaints {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Pay periods in the product's own CSV.
    Pay {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Quarterly leads in the product's own CSV.
    Leads {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Every stop, in the Open Policing columns or the product's own.
    Stops {
        #[arg(long, value_enum)]
        format: StopFormat,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The records of a period as a submission package for a state
    /// deployment (docs/packages.md): officers, training, stops, arrests,
    /// complaints, pay, leads and sign-offs, with their fingerprint and the
    /// audit head; no names or dates of birth of arrested people.
    Package {
        /// First day (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Last day (YYYY-MM-DD).
        #[arg(long)]
        to: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Arrests in the product's own CSV (all rows or none).
    Arrests {
        file: std::path::PathBuf,
        /// Import a file even though the same file was imported before.
        #[arg(long)]
        force: bool,
    },
    /// Complaints in the product's own CSV (all rows or none).
    Complaints {
        file: std::path::PathBuf,
        /// Import a file even though the same file was imported before.
        #[arg(long)]
        force: bool,
    },
    /// Pay periods in the product's own CSV (all rows or none).
    Pay {
        file: std::path::PathBuf,
        /// Import a file even though the same file was imported before.
        #[arg(long)]
        force: bool,
    },
    /// Quarterly leads in the product's own CSV (all rows or none).
    Leads {
        file: std::path::PathBuf,
        /// Import a file even though the same file was imported before.
        #[arg(long)]
        force: bool,
    },
    /// Stops (all rows or none), in the Open Policing columns or the product's own.
    Stops {
        #[arg(long, value_enum)]
        format: StopFormat,
        file: std::path::PathBuf,
        /// Import a file even though the same file was imported before.
        #[arg(long)]
        force: bool,
    },
    /// An agency's submission package (`export package` on its own
    /// install) into that agency here: verified, all or nothing, audited.
    Package { file: std::path::PathBuf },
    /// Past training records (columns: badge, course, completed_on, hours, scores, provider).
    Training {
        file: std::path::PathBuf,
        /// Import a file even though the same file was imported before.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Write the audit log as JSON Lines.
    Export {
        #[arg(long)]
        out: std::path::PathBuf,
        /// The state's chain (agencies added, state users) instead of an agency's.
        #[arg(long, conflicts_with = "agency")]
        state: bool,
    },
    /// Check an exported file (or, without FILE, the database) and print the head hash.
    Verify {
        file: Option<std::path::PathBuf>,
        /// A head hash you hold (printed on a report, or from an earlier
        /// export): exit 1 unless the log reaches it.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
        /// A signed checkpoint you hold: exit 1 unless the file holds
        /// every entry it signed, unchanged (a cut tail, a rewritten chain).
        #[arg(long, value_name = "FILE", requires = "file")]
        checkpoint: Option<std::path::PathBuf>,
        /// The verifier key to check the checkpoint with (`audit
        /// public-key`); by default this deployment's own.
        #[arg(long, value_name = "VKEY", requires = "checkpoint")]
        key: Option<String>,
        /// A witness whose cosignature the checkpoint must carry
        /// (its verifier key); repeat for several.
        #[arg(long, value_name = "VKEY", requires = "checkpoint")]
        witness: Vec<String>,
        /// The state's chain (agencies added, state users) instead of an agency's.
        #[arg(long, conflicts_with = "agency")]
        state: bool,
    },
    /// Sign a checkpoint of the log's Merkle tree at its head now and
    /// print it (a C2SP signed note); the server signs one each minute
    /// after writes.
    Checkpoint {
        #[arg(long, conflicts_with = "agency")]
        state: bool,
    },
    /// Print the key that verifies this log's checkpoints (C2SP verifier key).
    PublicKey {
        #[arg(long, conflicts_with = "agency")]
        state: bool,
    },
    /// Print the proof that entry SEQ is in a checkpoint's tree (by
    /// default, a checkpoint signed now).
    Prove {
        seq: u64,
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<std::path::PathBuf>,
        #[arg(long, conflicts_with = "agency")]
        state: bool,
    },
    /// As a witness (a state auditor, an oversight board): check that
    /// CHECKPOINT, signed by the log's key, extends the last one this
    /// witness cosigned (by --proof), then print it with the witness's
    /// cosignature added. Needs no database.
    Witness {
        checkpoint: Option<std::path::PathBuf>,
        /// The witness's key file (made on first use, owner-only).
        #[arg(long, value_name = "FILE")]
        key: std::path::PathBuf,
        /// The witness's name, for a new key.
        #[arg(long)]
        name: Option<String>,
        /// The log's verifier key (`oversight audit public-key`).
        #[arg(long, value_name = "VKEY", required_unless_present = "show_key")]
        log_key: Option<String>,
        /// The consistency proof from the last cosigned checkpoint.
        #[arg(long, value_name = "FILE")]
        proof: Option<std::path::PathBuf>,
        /// Print the witness's verifier key and stop.
        #[arg(long)]
        show_key: bool,
    },
    /// Print and check the proof that the log of checkpoint NEW extends
    /// that of checkpoint OLD; exit 1 if it does not, or on a fork.
    Consistency {
        old: std::path::PathBuf,
        new: std::path::PathBuf,
        #[arg(long, conflicts_with = "agency")]
        state: bool,
    },
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match dispatch(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// What is logged when `OVERSIGHT_LOG` does not say: the product's own
/// warnings and errors, and only the errors of the libraries under it.
pub const DEFAULT_LOG: &str = "error,oversight=warn";

/// Commands print their own messages; log messages go to standard error at
/// the level the operator chose in `OVERSIGHT_LOG` (a tracing filter such as
/// `info` or `oversight=debug,sqlx=debug`), in colour only on a terminal.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OVERSIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let url = cli.database_url.clone();
    let database_url = || url.clone().unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    let given_files = cli.files_dir.clone();
    let files_dir = |url: &str| given_files.clone().unwrap_or_else(|| crate::config::files_dir_for(url));
    let agency = cli.agency.clone();
    let agency = agency.as_deref();
    match cli.command {
        Command::Serve(args) => serve(&database_url(), &files_dir(&database_url()), args, None).await,
        Command::Demo(args) => {
            let url = url.clone().unwrap_or_else(|| demo::DEFAULT_URL.to_string());
            let sign_ins = if args.state {
                println!("Creating the demo of a state's deployment (twelve agencies); this takes a minute.");
                demo::create_state(&url, &files_dir(&url)).await?
            } else {
                demo::create(&url, &files_dir(&url)).await?
            };
            serve(&url, &files_dir(&url), args.serve, Some(sign_ins)).await
        }
        Command::User(UserCommand::Add { username, roles, name }) => {
            add_user(&database_url(), agency, &username, &roles, name).await
        }
        Command::Agency(AgencyCommand::Add { ori, name, state, models, time_zone }) => {
            add_agency(&database_url(), &ori, name, state, models, &time_zone).await
        }
        Command::Agency(AgencyCommand::List) => list_agencies(&database_url()).await,
        Command::Audit(AuditCommand::Export { out, state }) => {
            export_audit(&database_url(), agency, state, &out).await
        }
        Command::Audit(AuditCommand::Verify {
            file: Some(file),
            checkpoint: Some(c),
            key,
            witness,
            state,
            ..
        }) => {
            let chain = audit_chain_of(&database_url(), agency, state).await?;
            audit::cli::verify_export(&chain, &file, &c, key.as_deref(), &witness).await
        }
        Command::Audit(AuditCommand::Witness { checkpoint, key, name, log_key, proof, show_key }) => {
            let witness = audit::cli::Witness { key_file: key, name, log_key, proof };
            audit::cli::witness(&witness, checkpoint.as_deref(), show_key)
        }
        Command::Audit(AuditCommand::Verify { file, expect_head, state, .. }) => {
            verify_audit(&database_url(), agency, state, file.as_deref(), expect_head.as_deref()).await
        }
        Command::Audit(AuditCommand::Checkpoint { state }) => {
            audit::cli::checkpoint(&audit_chain_of(&database_url(), agency, state).await?).await
        }
        Command::Audit(AuditCommand::PublicKey { state }) => {
            audit::cli::public_key(&audit_chain_of(&database_url(), agency, state).await?).await
        }
        Command::Audit(AuditCommand::Prove { seq, checkpoint, state }) => {
            audit::cli::prove(
                &audit_chain_of(&database_url(), agency, state).await?,
                seq,
                checkpoint.as_deref(),
            )
            .await
        }
        Command::Audit(AuditCommand::Consistency { old, new, state }) => {
            audit::cli::consistency(&audit_chain_of(&database_url(), agency, state).await?, &old, &new).await
        }
        Command::Import(ImportCommand::Training { file, force }) => {
            import_training(&database_url(), agency, &file, force).await
        }
        Command::Import(ImportCommand::Stops { format, file, force }) => {
            let pool = db::connect(&database_url()).await?;
            let scope = Scope::for_command(&pool, agency).await?;
            let started = std::time::Instant::now();
            let report = crate::stops::import::import(
                &scope,
                &Actor::system("command line"),
                &file,
                format.format(),
                force,
            )
            .await?;
            // Closed before the time is taken: the last connection's close
            // checkpoints the WAL the import wrote and removes it.
            pool.close().await;
            let ok = report.problem_count == 0 && !report.already_imported;
            for line in crate::stops::import::summary(&report) {
                if ok { println!("{line}") } else { eprintln!("{line}") }
            }
            if ok {
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "{} in {secs:.2} s ({:.0} rows/s).",
                    crate::web::counted(report.rows, "row", "rows"),
                    report.rows as f64 / secs.max(1e-9)
                );
            }
            Ok(if report.already_imported {
                ExitCode::from(3)
            } else if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Export(ExportCommand::Stops { format, out }) => {
            let pool = db::connect(&database_url()).await?;
            let scope = Scope::for_command(&pool, agency).await?;
            let event = Event::new("stop.export", "stop", "")
                .details(serde_json::json!({ "format": format.format().name(), "via": "cli" }));
            audit::record_in(&scope, &Actor::system("command line"), event).await?;
            let partial = out.with_extension("partial");
            let file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
            let rows = crate::stops::export::export(&scope, format.format(), file).await?;
            std::fs::rename(&partial, &out)?;
            println!("Wrote {rows} stops to {}.", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Export(ExportCommand::Package { from, to, out }) => {
            export_package(&database_url(), agency, &from, &to, &out).await
        }
        Command::Import(ImportCommand::Package { file }) => {
            import_package(&database_url(), agency, &file).await
        }
        Command::Import(ImportCommand::Arrests { file, force }) => {
            import_records(&database_url(), agency, RecordKind::Arrests, &file, force).await
        }
        Command::Import(ImportCommand::Complaints { file, force }) => {
            import_records(&database_url(), agency, RecordKind::Complaints, &file, force).await
        }
        Command::Import(ImportCommand::Pay { file, force }) => {
            import_records(&database_url(), agency, RecordKind::Pay, &file, force).await
        }
        Command::Import(ImportCommand::Leads { file, force }) => {
            import_records(&database_url(), agency, RecordKind::Leads, &file, force).await
        }
        Command::Export(ExportCommand::Arrests { out }) => {
            export_records(&database_url(), agency, RecordKind::Arrests, &out).await
        }
        Command::Export(ExportCommand::Complaints { out }) => {
            export_records(&database_url(), agency, RecordKind::Complaints, &out).await
        }
        Command::Export(ExportCommand::Pay { out }) => {
            export_records(&database_url(), agency, RecordKind::Pay, &out).await
        }
        Command::Export(ExportCommand::Leads { out }) => {
            export_records(&database_url(), agency, RecordKind::Leads, &out).await
        }
        Command::Copy { from, to, from_files_dir, to_files_dir } => {
            let from_files = from_files_dir.unwrap_or_else(|| crate::config::files_dir_for(&from));
            let to_files = to_files_dir.unwrap_or_else(|| crate::config::files_dir_for(&to));
            println!("{}", crate::copy::run(&from, &to, &from_files, &to_files).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { out } => {
            let url = database_url();
            let pool = db::connect(&url).await?;
            let report = match agency {
                Some(_) => {
                    let scope = Scope::for_command(&pool, agency).await?;
                    backup::write_agency(&scope, &files_dir(&url), &out).await?
                }
                None => backup::write(&pool, &url, &out).await?,
            };
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => report(&database_url(), agency, &files_dir(&database_url()), args).await,
        Command::Metrics { from, to, format, state } => {
            metrics(&database_url(), agency, state, &from, &to, &format).await
        }
        Command::EarlyWarning { from, to, minimum } => {
            early_warning(&database_url(), agency, &from, &to, minimum).await
        }
        Command::Publish { from, to, state, correction } => {
            let url = database_url();
            publish(&url, agency, &files_dir(&url), state, &from, &to, &correction).await
        }
        Command::Publication(PublicationCommand::Check { checkpoint, files, key }) => {
            check_publication(&database_url(), &checkpoint, &files, key.as_deref())
        }
        Command::Retention { command } => retention(&database_url(), agency, command).await,
        Command::Maintenance(MaintenanceCommand::CheckAggregates) => {
            check_aggregates(&database_url(), agency).await
        }
    }
}

/// `maintenance check-aggregates`: the aggregates rebuilt from the records
/// in one transaction; kept (with an audit entry) only if they differed.
async fn check_aggregates(url: &str, agency: Option<&str>) -> anyhow::Result<ExitCode> {
    use crate::stops::aggregates;
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let mut tx = scope.begin_write().await?;
    let band = aggregates::place_band(&mut tx).await?;
    let found = aggregates::rebuild(&mut tx, band).await?;
    let arrest_days = crate::arrests::store::rebuild_digests(&mut tx).await?;
    if !found.any() && arrest_days == 0 {
        tx.rollback().await?;
        println!("The stop and arrest aggregates agree with the records.");
        return Ok(ExitCode::SUCCESS);
    }
    let details = serde_json::json!({
        "tallies": found.tallies, "minutes": found.minutes, "digests": found.digests, "band": found.band,
        "arrest_digests": arrest_days,
    });
    let event = crate::audit::Event::new("stop.aggregates_rebuilt", "stop", "").details(details);
    crate::audit::record(&mut tx, &Actor::system("command line"), event).await?;
    tx.commit().await?;
    let band = if found.band { " The minutes kept for D9 did not match the agency's place." } else { "" };
    println!(
        "The aggregates differed from the records: {} group-day rows, {} minute rows, {} stop day digests and \
         {arrest_days} arrest day digests.{band} They have been rebuilt from the records.",
        found.tallies, found.minutes, found.digests
    );
    Ok(ExitCode::FAILURE)
}

/// The period of a command's --from and --to; what is wrong is printed
/// (the command then exits 2).
fn period_arg(from: &str, to: &str) -> Result<crate::measures::Period, ()> {
    period_of(from, to).map_err(|why| eprintln!("{why}"))
}

/// A period from two YYYY-MM-DD arguments, or the message saying what is wrong.
fn period_of(from: &str, to: &str) -> Result<crate::measures::Period, String> {
    let (Some(start), Some(end)) = (crate::web::parse_date(from), crate::web::parse_date(to)) else {
        return Err(format!("Write both dates as YYYY-MM-DD (got --from {from} --to {to})."));
    };
    crate::measures::Period::new(start, end).ok_or_else(|| format!("--from {from} is after --to {to}."))
}

async fn report(
    url: &str,
    agency: Option<&str>,
    files_dir: &std::path::Path,
    args: ReportArgs,
) -> anyhow::Result<ExitCode> {
    match args.verify {
        Some(ReportCommand::ProveRecord { file, kind, id }) => {
            return prove_record(url, agency, &file, &kind, id).await;
        }
        Some(ReportCommand::CheckRecord { proof }) => return check_record(&proof),
        _ => {}
    }
    if let Some(ReportCommand::Verify { file }) = args.verify {
        let bytes =
            std::fs::read(&file).map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", file.display()))?;
        let pool = db::connect(url).await?;
        let key = crate::audit::checkpoint::SigningKey::of_database(url)?;
        let verdict = crate::reports::store::verify(&pool, &bytes, &key).await?;
        crate::reports::store::record_verification(&pool, &crate::audit::Actor::system("cli"), &verdict)
            .await?;
        println!("{}", verdict.message());
        return Ok(if verdict.is_verified() { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let (Some(from), Some(to), Some(out)) = (args.from, args.to, args.out) else {
        eprintln!("Give --from DATE --to DATE --out FILE.pdf, or: report verify FILE.pdf");
        return Ok(ExitCode::from(2));
    };
    let period = match period_of(&from, &to) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("{why}");
            return Ok(ExitCode::from(2));
        }
    };
    let pool = db::connect(url).await?;
    let files = crate::documents::files::FileStore::new(files_dir);
    let actor = crate::audit::Actor::system("cli");
    if args.state {
        if let Some(refused) = state_beside_agency(agency) {
            return Ok(refused);
        }
        let key = crate::audit::checkpoint::SigningKey::of_database(url)?;
        let (report, bytes) =
            crate::state::report::generate(&pool, &files, &actor, "command line", period, &key).await?;
        std::fs::write(&out, &bytes)?;
        println!(
            "Statewide report {} for {} written to {} ({} bytes, SHA-256 {}); statewide data fingerprint {}",
            report.number,
            report.period_text(),
            out.display(),
            bytes.len(),
            report.file_sha256,
            report.data_sha256
        );
        return Ok(ExitCode::SUCCESS);
    }
    let scope = Scope::for_command(&pool, agency).await?;
    let key = crate::audit::checkpoint::SigningKey::of_database(url)?;
    let (report, bytes) =
        crate::reports::store::generate(&scope, &files, &actor, "command line", period, &key).await?;
    std::fs::write(&out, &bytes)?;
    println!(
        "Report {} for {} written to {} ({} bytes, SHA-256 {}); data fingerprint {}",
        report.number,
        report.period_text(),
        out.display(),
        bytes.len(),
        report.file_sha256,
        report.data_sha256
    );
    Ok(ExitCode::SUCCESS)
}

/// `report prove-record FILE KIND ID`: the proof on standard output, what
/// it shows on standard error; exit 1 when there is none to give.
async fn prove_record(
    url: &str,
    agency: Option<&str>,
    file: &std::path::Path,
    kind: &str,
    id: i64,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", file.display()))?;
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let proved =
        match crate::reports::store::prove_record(&scope, &Actor::system("cli"), &sha256, kind, id).await {
            Ok(proved) => proved,
            Err(crate::reports::store::NoRecordProof::Database(e)) => return Err(e.into()),
            Err(why) => {
                eprintln!("No proof: {why}.");
                return Ok(ExitCode::from(1));
            }
        };
    print!("{}", proved.text());
    let (report, proof) = (&proved.report, &proved.proof);
    eprintln!(
        "{kind} {id}, as it stands, is record {} of the {} behind report {} (data fingerprint {}); the proof names \
         {} hashes and no other record. Check it with: oversight report check-record PROOF",
        proof.index + 1,
        proof.size,
        report.number,
        report.data_sha256,
        proof.path.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `report check-record PROOF`: exit 0 when the proof holds, 1 when not.
fn check_record(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", path.display()))?;
    let Some(proof) = crate::reports::records::RecordProof::parse(&text) else {
        println!(
            "{} is not a record proof of this product (oversight report prove-record prints one).",
            path.display()
        );
        return Ok(ExitCode::from(1));
    };
    match proof.check() {
        Ok(()) => {
            println!(
                "The proof holds: {} {} is record {} of the {} behind the data fingerprint {}. That is the report's \
                 if its cover prints the same fingerprint.",
                proof.kind,
                proof.id,
                proof.index + 1,
                proof.size,
                hex::encode(proof.root)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::audit::merkle::ProofError::RootMismatch) => {
            println!(
                "The proof does not hold: the path from the record's leaf does not lead to the fingerprint it names."
            );
            Ok(ExitCode::from(1))
        }
        Err(why) => {
            println!("The proof does not hold: {why}.");
            Ok(ExitCode::from(1))
        }
    }
}

/// `--state` covers every agency: with `--agency` too, the command says so
/// and exits 2.
/// `publish`: one agency's period, or the state's with `--state`.
async fn publish(
    url: &str,
    agency: Option<&str>,
    files_dir: &std::path::Path,
    state: bool,
    from: &str,
    to: &str,
    correction: &str,
) -> anyhow::Result<ExitCode> {
    use crate::publications::store::{self, Refused};
    let Ok(period) = period_arg(from, to) else { return Ok(ExitCode::from(2)) };
    if state && let Some(refused) = state_beside_agency(agency) {
        return Ok(refused);
    }
    let pool = db::connect(url).await?;
    let chain = if state {
        crate::state::store::state_chain(&pool)
    } else {
        Scope::for_command(&pool, agency).await?
    };
    let today = match state {
        true => time::OffsetDateTime::now_utc().date(),
        false => crate::agency::store::get(&chain).await?.today(),
    };
    let files = crate::documents::files::FileStore::new(files_dir);
    let key = crate::audit::checkpoint::SigningKey::of_database(url)?;
    let actor = Actor::system("command line");
    let mut outcome = store::check(&pool, chain.id(), period, today, correction).await.map(|_| None);
    for _ in 0..5 {
        if outcome.is_err() {
            break;
        }
        let draft = match state {
            true => store::state_draft(&pool, period).await,
            false => store::agency_draft(&chain, period).await,
        };
        outcome = match draft {
            Ok(draft) => store::publish(&chain, &draft, correction, &actor, &files, &key).await.map(Some),
            Err(e) => Err(e),
        };
        if !matches!(outcome, Err(Refused::Busy)) {
            break;
        }
    }
    match outcome {
        Ok(Some(p)) => {
            let body = p.body();
            let path = format!("/public/{}/{}", body.ori, crate::publications::slug(period));
            println!(
                "Published {} of {} as version {} at {path} ({} of {} figures withheld); data fingerprint {}.",
                body.period_label(),
                body.name,
                p.version,
                body.suppressed(),
                body.cells.len(),
                p.data_sha256
            );
            print!("{}", p.note);
            Ok(ExitCode::SUCCESS)
        }
        Ok(None) | Err(Refused::Busy) => {
            eprintln!("Not published: {}.", Refused::Busy);
            Ok(ExitCode::from(1))
        }
        Err(Refused::Failed(e)) => Err(e),
        Err(why) => {
            eprintln!("Not published: {why}.");
            Ok(ExitCode::from(2))
        }
    }
}

/// `publication check NOTE FILE…`: exit 1 unless every file is one the
/// publication listed.
fn check_publication(
    url: &str,
    checkpoint: &std::path::Path,
    files: &[std::path::PathBuf],
    key: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use crate::audit::checkpoint::{Note, VerifierKey};
    let note = std::fs::read_to_string(checkpoint)
        .map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", checkpoint.display()))?;
    let verifier = match key {
        Some(text) => VerifierKey::parse(text)?,
        None => {
            let origin = Note::parse(&note)?.text.lines().next().unwrap_or_default().to_string();
            crate::audit::checkpoint::SigningKey::of_database(url)?.verifier(&origin)
        }
    };
    let mut read = Vec::new();
    for file in files {
        let bytes =
            std::fs::read(file).map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", file.display()))?;
        read.push((file.display().to_string(), bytes));
    }
    match crate::publications::store::check_files(&note, &verifier, &read) {
        Ok(lines) => {
            println!("{}", lines.join("\n"));
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            println!("{why}");
            Ok(ExitCode::from(1))
        }
    }
}

fn state_beside_agency(agency: Option<&str>) -> Option<ExitCode> {
    agency.map(|_| {
        eprintln!("--state covers every agency: leave --agency out.");
        ExitCode::from(2)
    })
}

/// `retention [purge]`: the agency's retention of personal values.
async fn retention(
    url: &str,
    agency: Option<&str>,
    command: Option<RetentionCommand>,
) -> anyhow::Result<ExitCode> {
    use crate::agency::retention;
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let Some(RetentionCommand::Purge) = command else {
        let status = retention::status(&scope).await?;
        match (status.days, status.cutoff) {
            (Some(days), Some(cutoff)) => println!(
                "Personal values are kept {days} days from the arrest: {} arrest(s) dated before {} may be purged \
                 (oversight retention purge).",
                status.purgeable,
                format_date(cutoff)
            ),
            _ => println!(
                "Personal values are kept: no retention period is set (the agency profile sets one, at least {} days).",
                crate::agency::RETENTION_MINIMUM_DAYS
            ),
        }
        return Ok(ExitCode::SUCCESS);
    };
    match retention::purge(&scope, &Actor::system("command line")).await {
        Ok(purged) => {
            println!(
                "Purged the name and date of birth of {} arrest(s) dated before {}; each purge is in the audit log.",
                purged.arrests.len(),
                format_date(purged.cutoff)
            );
            if purged.kept > 0 {
                println!(
                    "Kept {} old arrest(s) as they are: signed off in the legacy form arrest/v1, whose fingerprint \
                     covers the values themselves.",
                    purged.kept
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Nothing was purged: {e}.");
            Ok(ExitCode::from(2))
        }
    }
}

/// `early-warning`: the list as JSON, each officer by id and badge.
async fn early_warning(
    url: &str,
    agency: Option<&str>,
    from: &str,
    to: &str,
    minimum: i64,
) -> anyhow::Result<ExitCode> {
    let Ok(period) = period_arg(from, to) else { return Ok(ExitCode::from(2)) };
    if !(10..=100_000).contains(&minimum) {
        eprintln!("--minimum is a whole number of stops from 10 to 100,000 (got {minimum}).");
        return Ok(ExitCode::from(2));
    }
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let list = crate::measures::store::early_warning(&scope, period, minimum).await?;
    let officers = crate::officers::store::list(&scope, &Default::default()).await?;
    let badge = |id: i64| officers.iter().find(|o| o.id == id).map(|o| o.badge.clone()).unwrap_or_default();
    let reviews: Vec<serde_json::Value> = list
        .reviews
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["badge"] = badge(r.officer).into();
            v["flagged"] = r.flagged().into();
            v
        })
        .collect();
    let out = serde_json::json!({
        "period": { "from": period.from_text(), "to": period.to_text() },
        "wording": crate::measures::warning::WORDING,
        "minimum": list.minimum,
        "below_minimum": list.below_minimum,
        "false_discovery_rate": crate::measures::warning::FALSE_DISCOVERY_RATE,
        "officers": reviews,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

async fn metrics(
    url: &str,
    agency: Option<&str>,
    state: bool,
    from: &str,
    to: &str,
    format: &str,
) -> anyhow::Result<ExitCode> {
    let Ok(period) = period_arg(from, to) else { return Ok(ExitCode::from(2)) };
    if format != "json" && format != "csv" {
        eprintln!("--format must be json or csv (got {format}).");
        return Ok(ExitCode::from(2));
    }
    let pool = db::connect(url).await?;
    if state {
        if let Some(refused) = state_beside_agency(agency) {
            return Ok(refused);
        }
        let parts = crate::state::report::read_agencies(&pool, period).await?;
        if format == "csv" {
            print!("{}", crate::state::report::metrics_csv(&parts, period)?);
        } else {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::state::report::metrics_json(&parts, period))?
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let scope = Scope::for_command(&pool, agency).await?;
    let sheet = crate::measures::store::compute(&scope, period).await?;
    if format == "csv" {
        print!("{}", sheet.csv()?);
    } else {
        println!("{}", serde_json::to_string_pretty(&sheet.json())?);
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    url: &str,
    files_dir: &std::path::Path,
    args: ServeArgs,
    demo_sign_ins: Option<Vec<(String, String, &'static str)>>,
) -> anyhow::Result<ExitCode> {
    let pool = db::connect_server(url).await?;
    let mut config = Config::new(url);
    config.files_dir = files_dir.to_path_buf();
    config.idle_timeout = Duration::from_secs(args.idle_minutes.max(1) * 60);
    config.absolute_timeout = Duration::from_secs(args.absolute_hours.max(1) * 3600);
    config.secure_cookies = args.secure_cookies;
    config.upload_limit = args.upload_limit_mb.clamp(1, 1024) * 1024 * 1024;
    config.public_rate = args.public_rate.max(1);
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let address = listener.local_addr()?;
    let key = crate::audit::checkpoint::SigningKey::of_database(url)?;
    let router = app::build(pool.clone(), config).await?;
    // Here, not in `app::build`: a test that serves the router in its own
    // runtime and then blocks on the binary would stall a checkpoint's
    // write transaction half-way.
    tokio::spawn(crate::audit::store::sign_checkpoints_every_minute(pool.clone(), std::sync::Arc::new(key)));
    println!("Oversight Ledger is running. Sign in at http://{address}/login");
    if let Some(sign_ins) = demo_sign_ins {
        println!("Demo sign-ins (username / password / role):");
        for (user, password, role) in sign_ins {
            println!("  {user:<15} {password:<22} {role}");
        }
    } else if !users::store::has_administrator(&pool).await? {
        println!("{}", first_admin_hint());
    }
    println!("Press Ctrl+C to stop.");
    std::io::stdout().flush()?;
    app::serve(listener, router).await?;
    Ok(ExitCode::SUCCESS)
}

pub fn first_admin_hint() -> String {
    "No administrator account exists yet. Create the first one on the server's console:\n  \
     OVERSIGHT_PASSWORD='a long passphrase' oversight user add USERNAME --role administrator"
        .to_string()
}

async fn add_user(
    url: &str,
    agency: Option<&str>,
    username: &str,
    roles: &[String],
    name: Option<String>,
) -> anyhow::Result<ExitCode> {
    let password = match std::env::var("OVERSIGHT_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            if std::io::stdin().is_terminal() {
                eprint!(
                    "Password for {username} (input is shown; pipe it or set OVERSIGHT_PASSWORD to avoid that): "
                );
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let form = users::NewUserForm {
        username: username.to_string(),
        display_name: name.unwrap_or_else(|| username.to_string()),
        password,
        roles: roles.to_vec(),
    };
    // A state role belongs to no agency; an agency's roles to one.
    let state_user = roles.iter().any(|r| Role::parse(r).is_some_and(Role::is_state));
    let allowed: &[Role] = if state_user { &Role::STATE } else { &Role::ALL };
    let mut new_user = match form.validate(allowed) {
        Ok(user) => user,
        Err(errors) => {
            for (field, message) in errors.iter() {
                eprintln!("{field}: {message}");
            }
            if errors.has("roles") {
                let names = |roles: &[Role]| roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                eprintln!(
                    "an agency's roles are: {}; the state's: {} (a user holds roles of one kind)",
                    names(&Role::ALL),
                    names(&Role::STATE)
                );
            }
            return Ok(ExitCode::from(2));
        }
    };
    if state_user && agency.is_some() {
        eprintln!("--agency: a state user belongs to no agency; leave --agency out for state roles.");
        return Ok(ExitCode::from(2));
    }
    // The operator chose this password themselves at the console.
    new_user.must_change_password = false;
    let pool = db::connect(url).await?;
    let hash = crate::auth::password::Hasher::default().hash(&new_user.password).await?;
    let actor = Actor::system("command line");
    let created = if state_user {
        users::store::create_state_user(&pool, &actor, &new_user, &hash).await
    } else {
        users::store::create(&Scope::for_command(&pool, agency).await?, &actor, &new_user, &hash).await
    };
    match created {
        Ok(id) => {
            println!("Created user {} (id {id}) with roles {}", new_user.username, roles.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Err(users::store::UserError::UsernameTaken) => {
            eprintln!("username: {} is already in use", new_user.username);
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

async fn import_training(
    url: &str,
    agency: Option<&str>,
    file: &std::path::Path,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file)?;
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let report =
        crate::training::import::import(&scope, &Actor::system("command line"), &name, &bytes, force).await?;
    if report.already_imported {
        eprintln!(
            "{} was imported before (SHA-256 {}). Nothing was imported; add --force to import it again.",
            file.display(),
            report.sha256
        );
        return Ok(ExitCode::from(3));
    }
    if report.problem_count > 0 {
        for problem in &report.problems {
            eprintln!("{problem}");
        }
        if report.problem_count > report.problems.len() {
            let more = report.problem_count - report.problems.len();
            eprintln!("… and {} not listed.", crate::web::counted(more, "more problem", "more problems"));
        }
        let problems = crate::web::counted(report.problem_count, "problem", "problems");
        eprintln!("Nothing was imported: {problems} in {}.", file.display());
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "Imported {} from {} (SHA-256 {}).",
        crate::web::counted(report.imported, "training record", "training records"),
        file.display(),
        report.sha256
    );
    Ok(ExitCode::SUCCESS)
}

async fn import_records(
    url: &str,
    agency: Option<&str>,
    kind: RecordKind,
    file: &std::path::Path,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let bytes = std::fs::read(file)?;
    let (lines, ok) = crate::exchange::import(
        &scope,
        &Actor::system("command line"),
        kind.kind(),
        &bytes,
        force,
        crate::exchange::AGAIN_CLI,
    )
    .await?;
    for line in lines {
        if ok { println!("{line}") } else { eprintln!("{line}") }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn export_records(
    url: &str,
    agency: Option<&str>,
    kind: RecordKind,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let event = Event::new(&format!("{}.export", kind.kind().name()), kind.kind().name(), "")
        .details(serde_json::json!({ "via": "cli", "personal_data": true }));
    audit::record_in(&scope, &Actor::system("command line"), event).await?;
    let (body, rows) = crate::exchange::export(&scope, kind.kind(), true).await?;
    std::fs::write(out, body)?;
    println!("Wrote {rows} {} to {}.", kind.kind().name(), out.display());
    Ok(ExitCode::SUCCESS)
}

async fn export_package(
    url: &str,
    agency: Option<&str>,
    from: &str,
    to: &str,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let Ok(period) = period_arg(from, to) else { return Ok(ExitCode::from(2)) };
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let manifest =
        crate::packages::export(&scope, &Actor::system("command line"), period.from, period.to, out).await?;
    println!(
        "Wrote the package of {} ({}) for {} to {} to {}.",
        manifest.agency.name,
        manifest.agency.ori,
        manifest.period_from,
        manifest.period_to,
        out.display()
    );
    for m in &manifest.members {
        println!("  {}: {}", m.name, crate::web::counted(m.rows, "row", "rows"));
    }
    println!(
        "Fingerprint {}; audit chain at entry {} (head {}).",
        manifest.fingerprint, manifest.audit_seq, manifest.audit_head
    );
    Ok(ExitCode::SUCCESS)
}

async fn import_package(url: &str, agency: Option<&str>, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let pool = db::connect(url).await?;
    let scope = Scope::for_command(&pool, agency).await?;
    let outcome = crate::packages::import::import(&scope, &Actor::system("command line"), file).await?;
    for line in &outcome.lines {
        if outcome.imported { println!("{line}") } else { eprintln!("{line}") }
    }
    Ok(if outcome.imported { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The chain an audit command reads: the agency's (`--agency`, or the one
/// agency), or with `--state` the state's.
async fn audit_chain(pool: &db::Db, agency: Option<&str>, state: bool) -> anyhow::Result<Scope> {
    if state {
        return Ok(Scope::of_agency(pool, db::STATE_CHAIN));
    }
    Scope::for_command(pool, agency).await
}

/// The chain an audit command reads, and the deployment's signing key file.
async fn audit_chain_of(url: &str, agency: Option<&str>, state: bool) -> anyhow::Result<audit::cli::Chain> {
    let scope = audit_chain(&db::connect(url).await?, agency, state).await?;
    Ok(audit::cli::Chain { scope, key_file: audit::checkpoint::SigningKey::path_for(url) })
}

async fn export_audit(
    url: &str,
    agency: Option<&str>,
    state: bool,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let pool = db::connect(url).await?;
    let scope = audit_chain(&pool, agency, state).await?;
    let event = Event::new("audit.export", "audit_log", "")
        .details(serde_json::json!({ "format": "jsonl", "via": "cli" }));
    audit::record_in(&scope, &Actor::system("command line"), event).await?;
    let partial = out.with_extension("partial");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
    let count = audit::store::export(&scope, &mut file).await?;
    file.into_inner()?.sync_all()?;
    std::fs::rename(&partial, out)?;
    let head = audit::store::head(&scope).await?.map(|(_, h)| h).unwrap_or_default();
    println!("Wrote {} to {}, head {head}", crate::web::counted(count, "entry", "entries"), out.display());
    Ok(ExitCode::SUCCESS)
}

async fn verify_audit(
    url: &str,
    agency: Option<&str>,
    state: bool,
    file: Option<&std::path::Path>,
    expect_head: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let verdict = match file {
        Some(path) => {
            let reader = std::io::BufReader::new(std::fs::File::open(path)?);
            audit::verify_jsonl_expecting(reader, expect_head)
        }
        None => {
            let scope = audit_chain(&db::connect(url).await?, agency, state).await?;
            audit::store::verify_expecting(&scope, expect_head).await?
        }
    };
    println!("{}", verdict.message());
    Ok(if verdict.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `agency add ORI`: the agency's profile from the embedded list of
/// agreements (or what the operator gives), checked by the same rules as
/// the profile form, then created with its audit entry.
async fn add_agency(
    url: &str,
    ori: &str,
    name: Option<String>,
    state: Option<String>,
    models: Vec<String>,
    time_zone: &str,
) -> anyhow::Result<ExitCode> {
    let found = crate::agency::agreements::lookup(ori);
    let form = crate::agency::ProfileForm {
        name: name.or_else(|| found.as_ref().map(|f| f.name.clone())).unwrap_or_default(),
        ori: ori.to_string(),
        state: state
            .or_else(|| found.as_ref().map(|f| f.state.to_string()))
            .unwrap_or_else(|| ori.chars().take(2).collect()),
        models: if models.is_empty() {
            found.as_ref().map(|f| f.models.iter().map(|m| m.to_string()).collect()).unwrap_or_default()
        } else {
            models
        },
        login_banner: crate::agency::DEFAULT_BANNER.to_string(),
        time_zone: time_zone.to_string(),
        mfa_policy: "administrators".to_string(),
        ..Default::default()
    };
    let profile = match form.validate() {
        Ok(profile) => profile,
        Err(errors) => {
            for (field, message) in errors.iter() {
                eprintln!("{field}: {message}");
            }
            if found.is_none() {
                eprintln!(
                    "{ori} is not in the list of 287(g) agreements of 3 July 2025: give --name, --state and --model."
                );
            }
            return Ok(ExitCode::from(2));
        }
    };
    let pool = db::connect(url).await?;
    if crate::agency::store::id_of(&pool, &profile.ori).await?.is_some() {
        eprintln!("ori: an agency with the ORI {} is already in the deployment", profile.ori);
        return Ok(ExitCode::from(2));
    }
    crate::agency::store::add(&pool, &Actor::system("command line"), &profile).await?;
    println!(
        "Added {} ({}, {}; {}). Create its first administrator with: \
         oversight user add USERNAME --role administrator --agency {}",
        profile.name, profile.ori, profile.state, profile.models, profile.ori
    );
    Ok(ExitCode::SUCCESS)
}

async fn list_agencies(url: &str) -> anyhow::Result<ExitCode> {
    let pool = db::connect(url).await?;
    println!(
        "{:<10} {:<5} {:<12} {:>6} {:>9} {:>10}  name",
        "ORI", "state", "models", "users", "officers", "stops"
    );
    for a in crate::agency::store::list(&pool).await? {
        let ori = if a.ori.is_empty() { "(none)" } else { a.ori.as_str() };
        println!(
            "{ori:<10} {:<5} {:<12} {:>6} {:>9} {:>10}  {}",
            a.state, a.models, a.users, a.officers, a.stops, a.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
