//! `oversight backup` on PostgreSQL: `pg_dump` of one exported snapshot,
//! then the archive read back with `pg_restore` and checked against what
//! the same snapshot held.
//!
//! The tools are PostgreSQL's own (a backup any PostgreSQL operator knows
//! how to restore, and the only one that carries the schema, sequences and
//! triggers exactly). They are looked for on `PATH`, then in Debian's
//! `/usr/lib/postgresql/<version>/bin`. A password in the URL is passed in
//! `PGPASSWORD`, never on a command line other users can list.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Chains;
use crate::audit::{Entry, Verdict, Verifier};
use crate::db::{self, Db};

/// What the check of a written archive found.
pub struct Dump {
    pub tables: usize,
    pub rows: u64,
    /// The verdict on each audit chain in the archive.
    pub audit: Chains,
}

impl Dump {
    pub fn summary(&self) -> String {
        format!("one snapshot; all {} rows of its {} tables are in the archive", self.rows, self.tables)
    }
}

pub async fn dump(db: &Db, url: &str, out: &Path) -> anyhow::Result<Dump> {
    let (conninfo, password) = conninfo(url)?;
    // The snapshot stays exported while this transaction is open: pg_dump
    // reads exactly what was counted here, whatever is written meanwhile.
    let mut tx = db.begin_snapshot().await?;
    let snapshot: String = db::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut tx).await?;
    let tables: Vec<(String, String)> = db::query_as(
        "SELECT schemaname::text, tablename::text FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )
    .fetch_all(&mut tx)
    .await?;
    let mut counted = BTreeMap::new();
    for (schema, table) in &tables {
        let rows: i64 = db::query_scalar(&format!("SELECT COUNT(*) FROM \"{schema}\".\"{table}\""))
            .fetch_one(&mut tx)
            .await?;
        counted.insert(format!("{schema}.{table}"), rows as u64);
    }
    let target = out.to_path_buf();
    let written = tokio::task::spawn_blocking(move || {
        run(
            Command::new(tool("pg_dump")?)
                // Row-level security: pg_dump refuses walled tables unless
                // told to respect it, and then dumps what its session may
                // reach, which `oversight.agency=all` makes every row.
                .args(["--format=custom", "--no-password", "--enable-row-security"])
                .arg(format!("--snapshot={snapshot}"))
                .env("PGOPTIONS", "-c oversight.agency=all")
                .arg("--file")
                .arg(&target)
                .args(["--dbname", &conninfo]),
            password.as_deref(),
            "pg_dump",
        )
    })
    .await?;
    tx.rollback().await?;
    if let Err(e) = written {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    let target = out.to_path_buf();
    let read = tokio::task::spawn_blocking(move || read_back(&target)).await?;
    let (rows, audit) = match read {
        Ok(read) => read,
        Err(e) => {
            let _ = std::fs::remove_file(out);
            return Err(e);
        }
    };
    if rows != counted {
        let _ = std::fs::remove_file(out);
        let differ: Vec<String> = counted
            .iter()
            .filter(|(table, n)| rows.get(*table) != Some(n))
            .map(|(table, n)| {
                format!("{table}: {n} in the database, {} in the archive", rows.get(table).unwrap_or(&0))
            })
            .collect();
        anyhow::bail!(
            "the archive does not hold what the snapshot held ({}); it was removed",
            differ.join("; ")
        );
    }
    if !audit.is_ok() {
        let _ = std::fs::remove_file(out);
        anyhow::bail!("the audit log in the archive does not verify ({}); it was removed", audit.message());
    }
    Ok(Dump { tables: counted.len(), rows: counted.values().sum(), audit })
}

/// The URL as libpq reads it, without its password (returned apart).
fn conninfo(url: &str) -> anyhow::Result<(String, Option<String>)> {
    let mut parsed = url::Url::parse(url)?;
    let password =
        parsed.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
    if password.is_some() {
        parsed.set_password(None).map_err(|_| anyhow::anyhow!("the database URL cannot hold a password"))?;
    }
    Ok((parsed.to_string(), password))
}

/// A PostgreSQL client program: on `PATH`, else the newest in Debian's
/// versioned folders.
pub fn tool(name: &str) -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file());
    if let Some(found) = on_path {
        return Ok(found);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let path = entry.path().join("bin").join(name);
            path.is_file().then_some((version, path))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, path)| path).ok_or_else(|| {
        anyhow::anyhow!(
            "{name} was not found: install PostgreSQL's client programs (Debian: postgresql-client)"
        )
    })
}

/// Runs a client program; its error output is the message when it fails.
fn run(command: &mut Command, password: Option<&str>, what: &str) -> anyhow::Result<()> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.stdin(Stdio::null()).output()?;
    if !output.status.success() {
        anyhow::bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// Every table's row count in the archive, and the verdicts on the audit
/// chains in it (each agency's and the state's), from `pg_restore`'s
/// plain-SQL rendering of the data.
fn read_back(archive: &Path) -> anyhow::Result<(BTreeMap<String, u64>, Chains)> {
    let mut child = Command::new(tool("pg_restore")?)
        .args(["--data-only", "--file=-"])
        .arg(archive)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut rows = BTreeMap::new();
    let mut audit: BTreeMap<i64, Chain> = BTreeMap::new();
    let mut unreadable: Option<String> = None;
    let mut block: Option<(String, Vec<String>)> = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        match &block {
            None => {
                if let Some(header) = line.strip_prefix("COPY ") {
                    let (table, columns) = copy_header(header)?;
                    rows.insert(table.clone(), 0);
                    block = Some((table, columns));
                }
            }
            Some(_) if line == "\\." => block = None,
            Some((table, columns)) => {
                *rows.get_mut(table).expect("inserted at the header") += 1;
                if table == "public.audit_log" {
                    match entry(columns, &line) {
                        Ok((chain, entry)) => audit.entry(chain).or_default().push(entry),
                        Err(why) => {
                            unreadable.get_or_insert(why);
                        }
                    }
                }
            }
        }
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        anyhow::bail!(
            "pg_restore could not read the archive: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut verdicts: Vec<(i64, Verdict)> = audit.into_iter().map(|(chain, c)| (chain, c.finish())).collect();
    if let Some(why) = unreadable {
        // A row that cannot be read names no chain for sure: the log as a
        // whole fails.
        let mut verifier = Verifier::default();
        verifier.unreadable(0, &why);
        verdicts.push((db::STATE_CHAIN, verifier.finish()));
    }
    Ok((rows, Chains(verdicts)))
}

/// `public.audit_log (seq, at_us, …) FROM stdin;` → the table and columns.
fn copy_header(header: &str) -> anyhow::Result<(String, Vec<String>)> {
    let unquote = |s: &str| s.trim().replace('"', "");
    let (table, rest) =
        header.split_once(" (").ok_or_else(|| anyhow::anyhow!("unexpected COPY line: {header}"))?;
    let (columns, _) =
        rest.split_once(')').ok_or_else(|| anyhow::anyhow!("unexpected COPY line: {header}"))?;
    Ok((unquote(table), columns.split(',').map(unquote).collect()))
}

/// One audit chain as the archive lists it. Rows come in the table's
/// physical order, which is the order of `seq` within a chain except for
/// entries an upgrade rewrote; those wait here until their turn.
#[derive(Default)]
struct Chain {
    verifier: Verifier,
    next: i64,
    waiting: BTreeMap<i64, Entry>,
}

impl Chain {
    fn push(&mut self, entry: Entry) {
        self.waiting.insert(entry.seq, entry);
        while let Some(first) = self.waiting.first_entry() {
            if *first.key() != self.next + 1 {
                break;
            }
            let entry = first.remove();
            self.next = entry.seq;
            self.verifier.push(&entry);
        }
    }

    fn finish(mut self) -> Verdict {
        // What is still waiting follows a gap, and the verifier names it.
        for entry in std::mem::take(&mut self.waiting).into_values() {
            self.verifier.push(&entry);
        }
        self.verifier.finish()
    }
}

/// One row of COPY text (tab-separated, `\N` for NULL, backslash escapes):
/// the chain it is in (its agency) and the entry.
fn entry(columns: &[String], line: &str) -> Result<(i64, Entry), String> {
    let fields: HashMap<&str, Option<String>> =
        columns.iter().map(String::as_str).zip(line.split('\t').map(unescape)).collect();
    let text = |name: &str| -> Result<String, String> {
        fields.get(name).cloned().flatten().ok_or_else(|| format!("no {name}"))
    };
    let number = |name: &str| -> Result<i64, String> {
        text(name)?.parse().map_err(|_| format!("{name} is not a number"))
    };
    Ok((
        number("agency_id")?,
        Entry {
            seq: number("seq")?,
            at_us: number("at_us")?,
            user_id: fields
                .get("user_id")
                .cloned()
                .flatten()
                .map(|v| v.parse())
                .transpose()
                .map_err(|_| "user_id")?,
            username: text("username")?,
            roles: text("roles")?,
            source: text("source")?,
            action: text("action")?,
            object_kind: text("object_kind")?,
            object_id: text("object_id")?,
            outcome: text("outcome")?,
            details: serde_json::from_str(&text("details")?).map_err(|e| format!("details: {e}"))?,
            prev_hash: text("prev_hash")?,
            hash: text("hash")?,
        },
    ))
}

fn unescape(field: &str) -> Option<String> {
    if field == "\\N" {
        return None;
    }
    if !field.contains('\\') {
        return Some(field.to_string());
    }
    let mut out = Vec::with_capacity(field.len());
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = bytes[i + 1];
        i += 2;
        out.push(match next {
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 11,
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                value as u8
            }
            b'x' => {
                let digits: String = bytes[i..]
                    .iter()
                    .take(2)
                    .take_while(|b| b.is_ascii_hexdigit())
                    .map(|&b| b as char)
                    .collect();
                i += digits.len();
                u8::from_str_radix(&digits, 16).unwrap_or(b'x')
            }
            other => other,
        });
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_text_unescapes_as_postgresql_writes_it() {
        assert_eq!(super::unescape("\\N"), None);
        assert_eq!(super::unescape("a\\tb\\nc\\\\d").as_deref(), Some("a\tb\nc\\d"));
        assert_eq!(super::unescape("\\101\\x42").as_deref(), Some("AB"));
    }

    #[test]
    fn a_password_leaves_the_url() {
        let (url, password) =
            super::conninfo("postgres://ana:s%40cret@db.example/ledger?sslmode=require").unwrap();
        assert_eq!(url, "postgres://ana@db.example/ledger?sslmode=require");
        assert_eq!(password.as_deref(), Some("s@cret"));
        let (url, password) = super::conninfo("postgres://postgres@%2Ftmp%2Fpg:5433/db").unwrap();
        assert_eq!((url.as_str(), password), ("postgres://postgres@%2Ftmp%2Fpg:5433/db", None));
    }
}
