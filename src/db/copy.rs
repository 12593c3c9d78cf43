//! PostgreSQL's bulk load: rows written in COPY's text format and sent
//! with `COPY … FROM STDIN` on the caller's connection, inside its
//! transaction (all or nothing with the rest of the import). SQLite's
//! counterpart is `stops::bulk` (its C API, one prepared statement).
//!
//! The text format: one line a row, columns separated by a tab, `\N` for
//! NULL, and a backslash before a backslash, tab, newline or carriage
//! return in a value (PostgreSQL documentation, COPY, "Text Format").
//! Floating-point values are written in Rust's shortest form that reads
//! back to the same `f64`, which PostgreSQL parses exactly.

use std::fmt::Write as _;

use super::Conn;

/// Rows in COPY text format, column by column.
#[derive(Default)]
pub struct Rows {
    text: String,
    /// A column was written on this line (the next one needs a tab).
    open: bool,
    rows: u64,
}

impl Rows {
    fn separate(&mut self) {
        if self.open {
            self.text.push('\t');
        }
        self.open = true;
    }

    pub fn text(&mut self, value: &str) -> &mut Self {
        self.separate();
        for c in value.chars() {
            match c {
                '\\' => self.text.push_str("\\\\"),
                '\t' => self.text.push_str("\\t"),
                '\n' => self.text.push_str("\\n"),
                '\r' => self.text.push_str("\\r"),
                c => self.text.push(c),
            }
        }
        self
    }

    pub fn int(&mut self, value: i64) -> &mut Self {
        self.separate();
        let _ = write!(self.text, "{value}");
        self
    }

    pub fn real(&mut self, value: f64) -> &mut Self {
        self.separate();
        let _ = write!(self.text, "{value:?}");
        self
    }

    /// A `bytea` value in hex form (`\x…`, its backslash escaped).
    pub fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.separate();
        self.text.push_str("\\\\x");
        self.text.push_str(&hex::encode(value));
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.separate();
        self.text.push_str("\\N");
        self
    }

    pub fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub fn opt_real(&mut self, value: Option<f64>) -> &mut Self {
        match value {
            Some(v) if v.is_finite() => self.real(v),
            _ => self.null(),
        }
    }

    pub fn end_row(&mut self) {
        self.text.push('\n');
        self.open = false;
        self.rows += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Sends the rows with `statement` (`COPY table (columns) FROM STDIN`)
    /// on `conn`, a PostgreSQL connection, and empties the buffer.
    pub async fn send(&mut self, conn: &mut Conn, statement: &str) -> Result<u64, sqlx::Error> {
        let pg = conn.postgres().ok_or_else(|| sqlx::Error::Protocol("COPY needs PostgreSQL".into()))?;
        let mut copy = pg.copy_in_raw(statement).await?;
        if let Err(e) = copy.send(self.text.as_bytes()).await {
            let _ = copy.abort("the rows could not be sent").await;
            return Err(e);
        }
        let written = copy.finish().await?;
        self.text.clear();
        self.open = false;
        self.rows = 0;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_written_as_copy_text_reads_them() {
        let mut rows = super::Rows::default();
        rows.text("a\tb\\c\nd").opt_int(None).real(0.1).bytes(&[0xab, 0x01]).end_row();
        rows.int(-7).opt_text(Some("é")).opt_real(Some(f64::NAN)).end_row();
        assert_eq!(rows.text, "a\\tb\\\\c\\nd\t\\N\t0.1\t\\\\xab01\n-7\té\t\\N\n");
    }
}
