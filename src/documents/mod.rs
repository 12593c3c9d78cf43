//! Documents: the agreement and its amendments, procedures, authorization
//! letters, certificates and other files, each with its versions. Files
//! are checked by content as well as by name, stored outside any served
//! folder under a generated name with their SHA-256, and served back only
//! as downloads.

pub mod files;
pub mod routes;
pub mod store;

use serde::Serialize;

use crate::auth::Role;

/// Kinds of document, and whether oversight reviewers may read them: the
/// agreement, its amendments and procedures are the program's public rules;
/// letters, certificates and other files concern named officers.
pub const KINDS: [(&str, &str, bool); 6] = [
    ("agreement", "Agreement (MOA)", true),
    ("amendment", "Amendment to the agreement", true),
    ("sop", "Standard operating procedure", true),
    ("authorization_letter", "Authorization letter", false),
    ("certificate", "Training certificate", false),
    ("other", "Other", false),
];

pub fn kind_label(kind: &str) -> &'static str {
    KINDS.iter().find(|(c, _, _)| *c == kind).map(|(_, l, _)| *l).unwrap_or("Other")
}

/// Who may see and download a document of `kind`: records clerks,
/// supervisors and auditors all of them; reviewers and administrators the
/// program documents only.
pub fn readable(kind: &str, roles: &[Role]) -> bool {
    let public = KINDS.iter().any(|(c, _, public)| *c == kind && *public);
    roles.iter().any(|r| matches!(r, Role::Clerk | Role::Supervisor | Role::Auditor))
        || (public && roles.iter().any(|r| matches!(r, Role::Reviewer | Role::Administrator)))
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq)]
pub struct Document {
    pub id: i64,
    pub title: String,
    pub kind: String,
    pub officer_id: Option<i64>,
    pub training_record_id: Option<i64>,
    pub created_at: i64,
    /// The latest version's number and content type (from a join).
    pub version: i64,
    pub content_type: String,
}

impl Document {
    pub fn kind_label(&self) -> &'static str {
        kind_label(&self.kind)
    }
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow, PartialEq)]
pub struct Version {
    pub id: i64,
    pub document_id: i64,
    pub version: i64,
    pub original_name: String,
    pub stored_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    pub note: String,
}

impl Version {
    pub fn uploaded(&self) -> String {
        crate::web::format_instant(self.uploaded_at)
    }
    pub fn size_text(&self) -> String {
        size_text(self.size_bytes as u64)
    }
}

pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{:.0} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// The accepted types: (content type, name endings, description).
const TYPES: [(&str, &[&str], &str); 5] = [
    ("application/pdf", &["pdf"], "a PDF document"),
    ("image/png", &["png"], "a PNG image"),
    ("image/jpeg", &["jpg", "jpeg"], "a JPEG image"),
    ("text/plain; charset=utf-8", &["txt"], "plain text"),
    ("text/csv; charset=utf-8", &["csv"], "CSV text"),
];

/// How much of the start of an upload the type check keeps: the
/// signatures of the accepted binary types sit in the first bytes.
const HEAD: usize = 8 * 1024;

/// What the type check needs of a file read chunk by chunk: its first
/// bytes, and whether the whole of it is text (UTF-8 without NUL bytes),
/// decided as the chunks pass without keeping them.
#[derive(Debug, Default)]
pub struct Sniff {
    head: Vec<u8>,
    /// The start of a UTF-8 sequence a chunk ended inside.
    carry: Vec<u8>,
    not_text: bool,
}

impl Sniff {
    pub fn feed(&mut self, chunk: &[u8]) {
        let room = HEAD.saturating_sub(self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..room]);
        if self.not_text {
            return;
        }
        if memchr::memchr(0, chunk).is_some() {
            self.not_text = true;
            return;
        }
        let mut rest = chunk;
        while !self.carry.is_empty() {
            let Some((&byte, tail)) = rest.split_first() else { return };
            rest = tail;
            self.carry.push(byte);
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(e) if e.error_len().is_none() => {}
                Err(_) => {
                    self.not_text = true;
                    return;
                }
            }
        }
        match std::str::from_utf8(rest) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => self.carry = rest[e.valid_up_to()..].to_vec(),
            Err(_) => self.not_text = true,
        }
    }

    fn is_text(&self) -> bool {
        !self.not_text && self.carry.is_empty()
    }
}

/// The content type of an upload, when its content and its name agree on
/// one of the accepted types; otherwise the reason it is refused.
pub fn check_type(name: &str, bytes: &[u8]) -> Result<&'static str, String> {
    let mut sniff = Sniff::default();
    sniff.feed(bytes);
    check_sniffed(name, &sniff)
}

/// [`check_type`] for a file that was streamed past a [`Sniff`].
pub fn check_sniffed(name: &str, sniff: &Sniff) -> Result<&'static str, String> {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let claimed = TYPES.iter().find(|(_, endings, _)| endings.contains(&extension.as_str()));
    let Some((claimed_type, _, claimed_what)) = claimed else {
        return Err("Only PDF, PNG, JPEG, plain text (.txt) and CSV (.csv) files are accepted.".into());
    };
    let found = match infer::get(&sniff.head).map(|t| t.mime_type()) {
        Some("application/pdf") => Some("application/pdf"),
        Some("image/png") => Some("image/png"),
        Some("image/jpeg") => Some("image/jpeg"),
        Some(_) => None,
        None if sniff.is_text() => {
            Some(if extension == "csv" { "text/csv; charset=utf-8" } else { "text/plain; charset=utf-8" })
        }
        None => None,
    };
    match found {
        Some(t) if t == *claimed_type => Ok(claimed_type),
        Some(t) => {
            let what = TYPES.iter().find(|(ct, _, _)| *ct == t).map(|(_, _, w)| *w).unwrap_or("another type");
            Err(format!(
                "The file is named as {claimed_what} but its content is {what}: rename it correctly or choose the right file."
            ))
        }
        None => Err(format!("The file is named as {claimed_what} but its content is not an accepted type.")),
    }
}

/// A name safe for a Content-Disposition header: letters, digits, dot,
/// dash and underscore.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    if cleaned.trim_matches(['.', '_']).is_empty() {
        "document".into()
    } else {
        cleaned.chars().take(120).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

    #[test]
    fn content_and_name_must_agree() {
        assert_eq!(check_type("moa.pdf", PDF), Ok("application/pdf"));
        assert_eq!(check_type("badge.PNG", PNG), Ok("image/png"));
        let renamed = check_type("letter.pdf", PNG).unwrap_err();
        assert!(renamed.contains("named as a PDF document but its content is a PNG image"), "{renamed}");
        assert!(check_type("notes.txt", "Nguyễn, Łódź".as_bytes()).is_ok());
        assert_eq!(check_type("roster.csv", b"a,b\n1,2\n"), Ok("text/csv; charset=utf-8"));
        assert!(check_type("tool.exe", b"MZ\x90\0").is_err());
        assert!(check_type("fake.txt", b"\0\x01\x02binary").is_err());
        assert!(check_type("fake.pdf", b"just text").is_err());
    }

    #[test]
    fn text_is_decided_across_chunks() {
        let streamed = |chunks: &[&[u8]]| {
            let mut sniff = Sniff::default();
            chunks.iter().for_each(|c| sniff.feed(c));
            check_sniffed("notes.txt", &sniff).is_ok()
        };
        let text = "Nguyễn, Łódź, 日本".as_bytes();
        for at in 0..text.len() {
            assert!(streamed(&[&text[..at], &text[at..]]), "split at {at}");
        }
        let one_by_one: Vec<&[u8]> = text.chunks(1).collect();
        assert!(streamed(&one_by_one));
        // A sequence cut off at the end, a bad byte or a NUL far past the
        // first bytes still make it binary.
        assert!(!streamed(&[text, &"ễ".as_bytes()[..2]]));
        assert!(!streamed(&[&[b'a'; 20_000], b"\xff"]));
        assert!(!streamed(&[&[b'a'; 20_000], b"\0"]));
        assert_eq!(check_type("moa.pdf", &[PDF, &[b' '; 20_000]].concat()), Ok("application/pdf"));
    }

    #[test]
    fn download_names_are_tamed() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("Carta de autorización.pdf"), "Carta_de_autorizaci_n.pdf");
        assert_eq!(safe_file_name("\"x\r\n.pdf"), "_x__.pdf");
    }

    #[test]
    fn reviewers_read_program_documents_only() {
        assert!(readable("agreement", &[Role::Reviewer]));
        assert!(!readable("certificate", &[Role::Reviewer]));
        assert!(readable("certificate", &[Role::Auditor]));
        assert!(!readable("authorization_letter", &[Role::Administrator]));
    }
}
