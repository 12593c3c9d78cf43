//! Canonical forms: the bytes a fingerprint covers (docs/fingerprints.md).
//!
//! A form has a name and a version, such as `oversight-ledger/stop/v1`,
//! and the version means one fixed list of fields in one fixed order,
//! forever. A form is written out field by field, never by serialising the
//! whole record, so a column added to a record later changes no sign-off
//! and no issued report; a new field list is a new version, and whatever
//! was fingerprinted in an older version is checked in that version.

/// Declares a form: a borrowing wrapper whose JSON is exactly the listed
/// fields of the record, in the listed order.
macro_rules! form {
    ($(#[$meta:meta])* $name:ident for $record:ty { $($field:ident),+ $(,)? }) => {
        $(#[$meta])*
        pub struct $name<'a>(pub &'a $record);

        impl serde::Serialize for $name<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                const FIELDS: &[&str] = &[$(stringify!($field)),+];
                let mut out = serializer.serialize_struct(stringify!($name), FIELDS.len())?;
                $(out.serialize_field(stringify!($field), &self.0.$field)?;)+
                out.end()
            }
        }
    };
}
pub(crate) use form;

/// SHA-256 (hex) of a form's label line and its JSON.
pub fn digest<T: serde::Serialize>(label: &str, form: &T) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(label.as_bytes());
    hasher.update(b"\n");
    let _ = serde_json::to_writer(&mut HashWriter(&mut hasher), form);
    hex::encode(hasher.finalize())
}

/// Feeds serialized bytes straight into a hash, with no buffer.
pub struct HashWriter<'a>(pub &'a mut sha2::Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(self.0, bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The salted commitment to one personal value (a name, a date of birth):
/// SHA-256 over a domain label, the record's random 128-bit salt, the
/// field and the value. Without the salt, which stays with the personal
/// data, no guess of the value can be tested against it.
pub fn personal_commitment(salt: &str, field: &str, value: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in ["oversight-ledger/personal/v1", salt, field, value] {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// A new random 128-bit salt, as hex.
pub fn new_salt() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
