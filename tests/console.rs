//! The console of the real command line: a command prints its own
//! messages, not the libraries' log lines (sqlx's "slow statement"
//! warning), and never colour codes into output that is not a terminal.
//! The operator can still ask for the log with `OVERSIGHT_LOG`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};

/// Runs the binary while another connection holds the database in
/// exclusive locking mode for 1.5 s, so the command's first statement
/// waits for the lock and is slower than sqlx's one-second threshold for
/// a slow-statement warning. Returns stdout and stderr, and how long the
/// command took.
async fn run_while_locked(url: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String, Duration) {
    let mut lock = sqlx::SqliteConnection::connect(url).await.unwrap();
    lock.execute("PRAGMA locking_mode = EXCLUSIVE").await.unwrap();
    lock.execute("BEGIN IMMEDIATE").await.unwrap();
    lock.execute("UPDATE agency SET name = name").await.unwrap();
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_oversight"));
    command.args(args).env("OVERSIGHT_DATABASE_URL", url).env_remove("OVERSIGHT_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    lock.execute("COMMIT").await.unwrap();
    lock.close().await.unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text, started.elapsed())
}

/// The first line of `out` holding `what`, for a short failure message.
fn line_with<'a>(out: &'a str, what: &str) -> &'a str {
    out.lines().find(|l| l.contains(what)).unwrap_or_default()
}

#[tokio::test]
async fn report_backup_and_metrics_print_only_their_own_messages() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/oversight.db", dir.path().display());
    oversight::db::connect(&url).await.unwrap().close().await;
    let backup = dir.path().join("copy.db");
    let pdf = dir.path().join("report.pdf");
    let commands: [&[&str]; 3] = [
        &["metrics", "--from", "2026-01-01", "--to", "2026-01-31", "--format", "csv"],
        &["backup", "--out", backup.to_str().unwrap()],
        &["report", "--from", "2026-01-01", "--to", "2026-01-31", "--out", pdf.to_str().unwrap()],
    ];
    for args in commands {
        let (ok, out, took) = run_while_locked(&url, args, &[]).await;
        assert!(ok, "{args:?}: {out}");
        assert!(took >= Duration::from_secs(1), "{args:?} waited for the lock: a statement was slow");
        assert!(
            !out.contains("slow statement"),
            "{args:?} printed a library warning:\n{}",
            line_with(&out, "slow statement")
        );
        assert!(!out.contains("\x1b["), "{args:?} printed colour codes:\n{:?}", line_with(&out, "\x1b["));
    }
    // An operator who asks for every warning gets no slow statement: sqlx
    // logs them at the debug level.
    let args = ["metrics", "--from", "2026-01-01", "--to", "2026-01-31"];
    let (ok, out, _) = run_while_locked(&url, &args, &[("OVERSIGHT_LOG", "warn")]).await;
    assert!(
        ok && !out.contains("slow statement"),
        "OVERSIGHT_LOG=warn:\n{}",
        line_with(&out, "slow statement")
    );
    // Asked for, the slow statement is logged, still without colour
    // (the output is a pipe here, not a terminal).
    let (ok, out, _) = run_while_locked(&url, &args, &[("OVERSIGHT_LOG", "sqlx=debug")]).await;
    assert!(ok, "{out}");
    assert!(out.contains("slow statement"), "OVERSIGHT_LOG=sqlx=debug shows it:\n{out}");
    assert!(!out.contains("\x1b["), "no colour codes into a pipe:\n{:?}", line_with(&out, "\x1b["));
}
