//! CSV reading for every import, with the line numbers a text editor shows.
//!
//! The csv crate numbers a record by the `\n` bytes it has consumed before
//! the record. It ends a record at the first line-end byte, so in a file
//! with CRLF endings the `\n` of the line before is still unread when the
//! next record starts: every row was reported one line too low. Blank lines
//! it skips before a record were not counted either. [`Reader`] counts the
//! lines itself: a line ends at LF, CRLF or a lone CR; a record's line is
//! the line of its first byte, so a quoted field holding line breaks moves
//! the rows after it down, and a UTF-8 byte-order mark changes nothing.
//! Stops (streamed), arrests, complaints, pay, leads and training all read
//! through it.

use std::collections::VecDeque;
use std::io::Read;

fn is_line_end(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Passes bytes on to the CSV parser, counting lines and keeping the
/// starts of non-empty lines until the parser is past them.
struct Lines<R> {
    inner: R,
    /// Bytes passed on so far: the offset of the next one.
    offset: u64,
    /// The line of the next byte.
    line: u64,
    /// The last byte passed on (a line end before the first: the file
    /// starts a line).
    last: u8,
    /// (offset, line) of each non-empty line start not yet parsed past.
    starts: VecDeque<(u64, u64)>,
    /// The parser's offset where the record being read begins, and the
    /// line of its first byte once known.
    record_from: u64,
    record_line: Option<u64>,
}

impl<R> Lines<R> {
    fn new(inner: R) -> Self {
        Lines {
            inner,
            offset: 0,
            line: 1,
            last: b'\n',
            starts: VecDeque::new(),
            record_from: 0,
            record_line: None,
        }
    }

    /// A record begins at the parser's offset `from`: the parser skips
    /// line ends there, so the record's first byte starts a line at or
    /// after it.
    fn begin(&mut self, from: u64) {
        while self.starts.front().is_some_and(|&(at, _)| at < from) {
            self.starts.pop_front();
        }
        self.record_from = from;
        self.record_line = None;
    }

    /// The line where the record being read starts.
    fn record_line(&mut self) -> u64 {
        if let Some(line) = self.record_line {
            return line;
        }
        let found = self.starts.iter().find(|&&(at, _)| at >= self.record_from).map(|&(_, line)| line);
        // Nothing after `from` but line ends: the record is the end of the file.
        let line = found.unwrap_or(self.line);
        self.record_line = Some(line);
        line
    }

    /// The parser has parsed every byte passed on so far (csv's buffered
    /// reader asks for more only once its buffer is used up): of the line
    /// starts before `offset`, only the first of the record being read is
    /// still wanted; the others lie inside it. This keeps memory flat even
    /// for a record of many lines.
    fn settle(&mut self) {
        while let Some((at, line)) = self.starts.pop_front() {
            if at >= self.record_from && self.record_line.is_none() {
                self.record_line = Some(line);
            }
        }
    }

    fn scan(&mut self, chunk: &[u8]) {
        let Some(&last) = chunk.last() else { return };
        let base = self.offset;
        if is_line_end(self.last) && !is_line_end(chunk[0]) {
            self.starts.push_back((base, self.line));
        }
        for i in memchr::memchr2_iter(b'\r', b'\n', chunk) {
            let before = if i == 0 { self.last } else { chunk[i - 1] };
            // The LF of a CRLF ends the line its CR ended.
            if !(chunk[i] == b'\n' && before == b'\r') {
                self.line += 1;
            }
            if chunk.get(i + 1).is_some_and(|&next| !is_line_end(next)) {
                self.starts.push_back((base + i as u64 + 1, self.line));
            }
        }
        self.last = last;
        self.offset += chunk.len() as u64;
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.settle();
        self.scan(&buf[..n]);
        Ok(n)
    }
}

/// A CSV reader that gives each record with the line it starts on.
pub struct Reader<R> {
    csv: csv::Reader<Lines<R>>,
}

/// A record that cannot be read, with the line it starts on.
pub type LineError = (u64, csv::Error);

impl<R: Read> Reader<R> {
    pub fn new(builder: &csv::ReaderBuilder, source: R) -> Self {
        Reader { csv: builder.from_reader(Lines::new(source)) }
    }

    pub fn byte_headers(&mut self) -> csv::Result<&csv::ByteRecord> {
        self.csv.byte_headers()
    }

    pub fn headers(&mut self) -> csv::Result<&csv::StringRecord> {
        self.csv.headers()
    }

    /// Reads the header first if the caller has not, so that it is not
    /// counted as part of the first record.
    fn begin(&mut self) -> Result<(), LineError> {
        if self.csv.has_headers() {
            if let Err(e) = self.csv.byte_headers() {
                return Err((self.csv.get_mut().record_line(), e));
            }
        }
        let from = self.csv.position().byte();
        self.csv.get_mut().begin(from);
        Ok(())
    }

    /// The next record and the line it starts on; None after the last.
    pub fn read_byte_record(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, LineError> {
        self.begin()?;
        let read = self.csv.read_byte_record(record);
        let line = self.csv.get_mut().record_line();
        match read {
            Ok(true) => Ok(Some(line)),
            Ok(false) => Ok(None),
            Err(e) => Err((line, e)),
        }
    }

    /// As `read_byte_record`, for a record that must be UTF-8 text.
    pub fn read_record(&mut self, record: &mut csv::StringRecord) -> Result<Option<u64>, LineError> {
        self.begin()?;
        let read = self.csv.read_record(record);
        let line = self.csv.get_mut().record_line();
        match read {
            Ok(true) => Ok(Some(line)),
            Ok(false) => Ok(None),
            Err(e) => Err((line, e)),
        }
    }

    /// The source, past what the parser has buffered.
    pub fn into_inner(self) -> R {
        self.csv.into_inner().inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line of each record by counting by hand: (first field, line).
    fn lines(text: &str, capacity: usize) -> Vec<(String, u64)> {
        let mut builder = csv::ReaderBuilder::new();
        builder.flexible(true).buffer_capacity(capacity);
        let mut reader = Reader::new(&builder, text.as_bytes());
        reader.headers().unwrap();
        let mut record = csv::StringRecord::new();
        let mut out = Vec::new();
        while let Some(line) = reader.read_record(&mut record).unwrap() {
            out.push((record[0].to_string(), line));
        }
        out
    }

    #[test]
    fn each_record_gets_the_line_an_editor_shows() {
        let cases: [(&str, &[(&str, u64)]); 9] = [
            ("h\na\nb\nc\n", &[("a", 2), ("b", 3), ("c", 4)]),
            ("h\r\na\r\nb\r\nc\r\n", &[("a", 2), ("b", 3), ("c", 4)]),
            ("\u{feff}h\r\na\r\nb\r\nc", &[("a", 2), ("b", 3), ("c", 4)]),
            ("h\ra\rb\r", &[("a", 2), ("b", 3)]),
            ("h\n\"x\ny\"\nb\n", &[("x\ny", 2), ("b", 4)]),
            ("h\r\n\"x\r\ny\r\n\"\r\nb\r\n", &[("x\r\ny\r\n", 2), ("b", 5)]),
            ("h\r\n\r\n\r\na\r\n\nb\n", &[("a", 4), ("b", 6)]),
            ("\r\nh\r\na", &[("a", 3)]),
            ("h\n,a\n\"\"\n", &[("", 2), ("", 3)]),
        ];
        for (text, expected) in cases {
            let expected: Vec<(String, u64)> = expected.iter().map(|(f, l)| (f.to_string(), *l)).collect();
            // Small buffers, so that line ends fall across reads. (Not 3:
            // csv_core then takes a first read of just the byte-order mark
            // for the end of the input, whatever the line counting.)
            for capacity in [1, 2, 4, 5, 7, 64, 8192] {
                assert_eq!(lines(text, capacity), expected, "{text:?} read {capacity} bytes at a time");
            }
        }
    }

    #[test]
    fn a_bad_record_is_reported_on_its_line() {
        let text = b"h,i\r\na,1\r\n\xff,2\r\n";
        let mut reader = Reader::new(&csv::ReaderBuilder::new(), &text[..]);
        let mut record = csv::StringRecord::new();
        assert_eq!(reader.read_record(&mut record).unwrap(), Some(2));
        let (line, _) = reader.read_record(&mut record).unwrap_err();
        assert_eq!(line, 3);
    }

    #[test]
    fn memory_stays_flat_for_a_record_of_many_lines() {
        let mut text = String::from("h\n\"");
        for _ in 0..100_000 {
            text.push_str("x\n");
        }
        text.push_str("\"\nnext\n");
        let mut builder = csv::ReaderBuilder::new();
        builder.buffer_capacity(4096);
        let mut reader = Reader::new(&builder, text.as_bytes());
        let mut record = csv::ByteRecord::new();
        assert_eq!(reader.read_byte_record(&mut record).unwrap(), Some(2));
        assert!(reader.csv.get_ref().starts.len() <= 4096, "{}", reader.csv.get_ref().starts.len());
        assert_eq!(reader.read_byte_record(&mut record).unwrap(), Some(100_003));
    }
}
