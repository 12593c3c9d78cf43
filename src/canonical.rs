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

/// A record's content in a binary canonical form (docs/fingerprints.md,
/// `stop-content/v1`): a label line, then each field as a type byte and its
/// value: 0 no value; 1 a whole number, 8 bytes little-endian; 2 a decimal,
/// its IEEE 754 bits likewise; 3 text, its byte length as 4 bytes
/// little-endian and its UTF-8.
pub struct Binary(Vec<u8>);

impl Binary {
    pub fn new(label: &str) -> Binary {
        let mut bytes = Vec::with_capacity(512);
        bytes.extend_from_slice(label.as_bytes());
        bytes.push(b'\n');
        Binary(bytes)
    }

    /// SHA-256 of the bytes written.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(&self.0).into()
    }

    pub fn int(&mut self, v: Option<i64>) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                self.0.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    pub fn real(&mut self, v: Option<f64>) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(2);
                self.0.extend_from_slice(&v.to_bits().to_le_bytes());
            }
        }
    }
    pub fn text(&mut self, v: Option<&str>) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(3);
                self.0.extend_from_slice(&(v.len() as u32).to_le_bytes());
                self.0.extend_from_slice(v.as_bytes());
            }
        }
    }
}

/// Limbs of a day's digest: 2048 bits. A sum of hashes modulo 2^n resists
/// the generalized-birthday attack only with a large n (Bellare and
/// Micciancio's AdHash; Wagner 2002): at 2048 bits, forging a day's sum by
/// rewriting even a million records costs more than 2^100 hashes.
const LIMBS: usize = 32;

/// The sum of the content hashes of a day's stops, modulo 2^2048: order
/// does not matter, and an edit subtracts the old record and adds the new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sum([u64; LIMBS]);

impl Default for Sum {
    fn default() -> Self {
        Sum([0; LIMBS])
    }
}

impl Sum {
    /// A record's 2048-bit content hash: its content digest expanded by
    /// hashing it with a counter, eight times (docs/fingerprints.md,
    /// `report/v3`).
    ///
    /// Each of the eight is SHA-256 of 33 bytes, which with its padding is
    /// one block: the block is laid out here once and compressed directly
    /// (FIPS 180-4 §5.1.1 padding, §5.3.3 initial value), the same hash as
    /// `Sha256::digest` at a third of the cost, which an import of a
    /// million stops pays eight million times.
    pub fn expand(digest: &[u8; 32]) -> Sum {
        const INITIAL: [u32; 8] =
            [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(digest);
        block[33] = 0x80;
        block[56..].copy_from_slice(&(33u64 * 8).to_be_bytes());
        let mut out = [0u64; LIMBS];
        for (i, chunk) in out.chunks_mut(4).enumerate() {
            block[32] = i as u8;
            let mut state = INITIAL;
            sha2::compress256(&mut state, &[block.into()]);
            for (limb, words) in chunk.iter_mut().zip(state.chunks(2)) {
                // The hash's bytes are its words big-endian; a limb is
                // eight of those bytes read little-endian.
                let mut bytes = [0u8; 8];
                bytes[..4].copy_from_slice(&words[0].to_be_bytes());
                bytes[4..].copy_from_slice(&words[1].to_be_bytes());
                *limb = u64::from_le_bytes(bytes);
            }
        }
        Sum(out)
    }

    pub fn add(&mut self, other: &Sum) {
        let mut carry = false;
        for (a, b) in self.0.iter_mut().zip(other.0) {
            let (s, c1) = a.overflowing_add(b);
            let (s, c2) = s.overflowing_add(carry as u64);
            *a = s;
            carry = c1 || c2;
        }
    }

    pub fn sub(&mut self, other: &Sum) {
        let mut borrow = false;
        for (a, b) in self.0.iter_mut().zip(other.0) {
            let (d, b1) = a.overflowing_sub(b);
            let (d, b2) = d.overflowing_sub(borrow as u64);
            *a = d;
            borrow = b1 || b2;
        }
    }

    pub fn to_bytes(self) -> Vec<u8> {
        self.0.iter().flat_map(|l| l.to_le_bytes()).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Sum {
        let mut out = [0u64; LIMBS];
        for (limb, b) in out.iter_mut().zip(bytes.chunks(8)) {
            let mut word = [0u8; 8];
            word[..b.len()].copy_from_slice(b);
            *limb = u64::from_le_bytes(word);
        }
        Sum(out)
    }

    pub fn hex(&self) -> String {
        hex::encode(self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_carry_across_limbs_and_subtract_back() {
        // All ones plus one is zero, modulo 2^2048.
        let mut ones = Sum::from_bytes(&[0xff; 256]);
        ones.add(&Sum::from_bytes(&[1]));
        assert_eq!(ones, Sum::default());
        let (a, b) = (Sum::expand(&[1; 32]), Sum::expand(&[2; 32]));
        let mut s = a;
        s.add(&b);
        s.sub(&a);
        assert_eq!(s, b);
    }

    #[test]
    fn expansion_is_the_hashes_of_the_digest_and_a_counter_concatenated() {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(b"a stop").into();
        let mut bytes = Vec::new();
        for i in 0..8u8 {
            bytes.extend(Sha256::new().chain_update(digest).chain_update([i]).finalize());
        }
        assert_eq!(Sum::expand(&digest), Sum::from_bytes(&bytes));
    }

    #[test]
    fn the_binary_form_is_type_bytes_and_little_endian_values() {
        let mut b = Binary::new("label");
        b.int(Some(258));
        b.real(None);
        b.text(Some("é"));
        let mut expected = b"label\n".to_vec();
        expected.extend([1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0xc3, 0xa9]);
        assert_eq!(b.0, expected);
    }
}
