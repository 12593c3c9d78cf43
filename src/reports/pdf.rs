//! The oversight report as a PDF, laid out by hand with printpdf's ops: a y
//! cursor per page, tables that break across pages with their header
//! repeated, bar charts drawn as rectangles, "Page n of N" written once
//! every page exists, a bookmark per section, and DejaVu Sans embedded so
//! names such as "Nguyễn" and "Łódź" print (the built-in fonts are WinAnsi
//! only).

use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem, TextMatrix,
};

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

const MARGIN: f32 = 50.0;
const BOTTOM: f32 = 60.0;
/// DejaVu Sans averages a little over half an em per character; wrapping
/// uses this to stay inside a column.
const CHAR_WIDTH: f32 = 0.56;

/// The sheet a report is laid out on, portrait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Paper {
    /// US Letter, 8.5 × 11 in (215.9 × 279.4 mm): US agencies print and
    /// file on it.
    Letter,
    /// ISO A4, 210 × 297 mm.
    A4,
}

impl Paper {
    /// From the agency setting; anything but "a4" is Letter.
    pub fn from_setting(code: &str) -> Self {
        if code == "a4" { Paper::A4 } else { Paper::Letter }
    }

    fn millimetres(self) -> (f32, f32) {
        match self {
            Paper::Letter => (215.9, 279.4),
            Paper::A4 => (210.0, 297.0),
        }
    }

    /// Width and height in points (1 pt = 25.4 / 72 mm; Letter is a
    /// whole 612 × 792).
    pub fn points(self) -> (f32, f32) {
        match self {
            Paper::Letter => (612.0, 792.0),
            Paper::A4 => (210.0 * 72.0 / 25.4, 297.0 * 72.0 / 25.4),
        }
    }
}

pub struct Writer {
    doc: PdfDocument,
    paper: Paper,
    width: f32,
    height: f32,
    regular: FontId,
    bold: FontId,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// (title, page index) of each section, for bookmarks.
    sections: Vec<(String, usize)>,
}

/// A table column: header and width in points.
pub struct Column<'a> {
    pub header: &'a str,
    pub width: f32,
}

fn grey(level: f32) -> Color {
    Color::Rgb(Rgb::new(level, level, level, None))
}

/// Splits text into lines that fit `width` points at `size`.
pub fn wrap(text: &str, width: f32, size: f32) -> Vec<String> {
    let max = ((width / (size * CHAR_WIDTH)).floor() as usize).max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_string();
            while word.chars().count() > max {
                let head: String = word.chars().take(max).collect();
                word = word.chars().skip(max).collect();
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                lines.push(head);
            }
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    lines
}

impl Writer {
    pub fn new(title: &str, paper: Paper) -> anyhow::Result<Self> {
        let mut doc = PdfDocument::new(title);
        let mut warnings = Vec::new();
        let regular = ParsedFont::from_bytes(REGULAR, 0, &mut warnings)
            .ok_or_else(|| anyhow::anyhow!("the embedded font could not be read"))?;
        let bold = ParsedFont::from_bytes(BOLD, 0, &mut warnings)
            .ok_or_else(|| anyhow::anyhow!("the embedded bold font could not be read"))?;
        let (regular, bold) = (doc.add_font(&regular), doc.add_font(&bold));
        let (width, height) = paper.points();
        Ok(Self {
            doc,
            paper,
            width,
            height,
            regular,
            bold,
            pages: vec![Vec::new()],
            y: height - MARGIN,
            sections: Vec::new(),
        })
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.new_page();
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.height - MARGIN;
    }

    /// Starts a new page unless `height` points still fit on this one.
    pub fn ensure(&mut self, height: f32) -> bool {
        if self.y - height < BOTTOM {
            self.new_page();
            return true;
        }
        false
    }

    /// Text at (x, y), y being the baseline.
    fn put(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str, color: Color) {
        let font = if bold { self.bold.clone() } else { self.regular.clone() };
        self.ops().extend([
            Op::StartTextSection,
            Op::SetFillColor { col: color },
            Op::SetFont { font: PdfFontHandle::External(font), size: Pt(size) },
            Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(x), Pt(y)) },
            Op::ShowText { items: vec![TextItem::Text(text.to_string())] },
            Op::EndTextSection,
        ]);
    }

    /// A wrapped paragraph across the page width.
    pub fn paragraph(&mut self, text: &str, size: f32, bold: bool) {
        let leading = size * 1.35;
        for line in wrap(text, self.text_width(), size) {
            self.ensure(leading);
            self.y -= leading;
            self.put(MARGIN, self.y, size, bold, &line, grey(0.0));
        }
        self.y -= size * 0.4;
    }

    /// The width between the margins.
    fn text_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }

    /// A section heading, bookmarked.
    pub fn section(&mut self, title: &str) {
        self.ensure(80.0);
        self.sections.push((title.to_string(), self.pages.len() - 1));
        self.y -= 10.0;
        self.paragraph(title, 15.0, true);
    }

    pub fn heading(&mut self, title: &str) {
        self.ensure(60.0);
        self.y -= 4.0;
        self.paragraph(title, 11.5, true);
    }

    fn rule(&mut self, y: f32) {
        let line = Line {
            points: vec![
                LinePoint { p: Point { x: Pt(MARGIN), y: Pt(y) }, bezier: false },
                LinePoint { p: Point { x: Pt(self.width - MARGIN), y: Pt(y) }, bezier: false },
            ],
            is_closed: false,
        };
        self.ops().extend([
            Op::SetOutlineColor { col: grey(0.45) },
            Op::SetOutlineThickness { pt: Pt(0.6) },
            Op::DrawLine { line },
        ]);
    }

    fn row(&mut self, widths: &[f32], cells: &[Vec<String>], size: f32, bold: bool) {
        let leading = size * 1.3;
        let height = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * leading + 4.0;
        let top = self.y;
        let mut x = MARGIN;
        for (width, lines) in widths.iter().zip(cells) {
            for (i, line) in lines.iter().enumerate() {
                self.put(x + 2.0, top - leading * (i as f32 + 1.0), size, bold, line, grey(0.0));
            }
            x += width;
        }
        self.y = top - height;
    }

    /// Column widths spread over the width between the margins: the
    /// columns are drawn for the narrower A4 sheet and keep their
    /// proportions on Letter, and a table never runs into the margin.
    fn widths(&self, columns: &[Column]) -> Vec<f32> {
        let total: f32 = columns.iter().map(|c| c.width).sum();
        let scale = if total > 0.0 { self.text_width() / total } else { 1.0 };
        columns.iter().map(|c| c.width * scale).collect()
    }

    /// A table that breaks across pages and repeats its header on each.
    pub fn table(&mut self, columns: &[Column], rows: &[Vec<String>]) {
        let size = 8.0;
        let widths = self.widths(columns);
        let wrapped = |cells: &[String]| -> Vec<Vec<String>> {
            widths.iter().zip(cells).map(|(w, text)| wrap(text, w - 4.0, size)).collect()
        };
        let header: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
        let header = wrapped(&header);
        let header_height = header.iter().map(Vec::len).max().unwrap_or(1) as f32 * size * 1.3 + 4.0;
        let print_header = |w: &mut Self| {
            w.row(&widths, &header, size, true);
            let y = w.y + 1.0;
            w.rule(y);
        };
        self.ensure(header_height * 2.0);
        print_header(self);
        for cells in rows {
            let cells = wrapped(cells);
            let height = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * size * 1.3 + 4.0;
            if self.ensure(height) {
                print_header(self);
            }
            self.row(&widths, &cells, size, false);
        }
        self.y -= 8.0;
    }

    /// Horizontal bars, one per (label, value in percent), with the value
    /// written beside each bar so the chart does not rely on length alone.
    pub fn bar_chart(&mut self, title: &str, bars: &[(String, Option<f64>)]) {
        let bar = 11.0;
        self.ensure(bar * bars.len() as f32 + 40.0);
        self.paragraph(title, 9.0, true);
        let max = bars.iter().filter_map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
        let (label_width, chart_width) = (150.0, self.text_width() - 200.0);
        for (label, value) in bars {
            self.y -= bar + 3.0;
            let y = self.y;
            self.put(MARGIN, y + 2.0, 8.0, false, label, grey(0.0));
            let length = value.map(|v| (v / max) as f32 * chart_width).unwrap_or(0.0);
            self.ops().extend([
                Op::SetFillColor { col: Color::Rgb(Rgb::new(0.11, 0.36, 0.62, None)) },
                Op::DrawRectangle {
                    rectangle: Rect {
                        x: Pt(MARGIN + label_width),
                        y: Pt(y),
                        width: Pt(length.max(0.5)),
                        height: Pt(bar - 2.0),
                        mode: Some(PaintMode::Fill),
                        winding_order: None,
                    },
                },
            ]);
            let text = value.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "no data".into());
            self.put(MARGIN + label_width + length + 4.0, y + 2.0, 8.0, false, &text, grey(0.0));
        }
        self.y -= 10.0;
    }

    /// Writes "Page n of N" and the footer on every page, bookmarks each
    /// section, sets title and author, and returns the file's bytes.
    pub fn finish(mut self, title: &str, author: &str, footer: &str, created_unix: i64) -> Vec<u8> {
        let total = self.pages.len();
        for n in 0..total {
            let text = format!("Page {} of {total}", n + 1);
            let width = text.chars().count() as f32 * 8.0 * CHAR_WIDTH;
            self.pages[n].push(Op::SaveGraphicsState);
            let font = self.regular.clone();
            self.pages[n].extend([
                Op::StartTextSection,
                Op::SetFillColor { col: grey(0.25) },
                Op::SetFont { font: PdfFontHandle::External(font.clone()), size: Pt(8.0) },
                Op::SetTextMatrix {
                    matrix: TextMatrix::Translate(Pt(self.width - MARGIN - width), Pt(30.0)),
                },
                Op::ShowText { items: vec![TextItem::Text(text)] },
                Op::EndTextSection,
                Op::StartTextSection,
                Op::SetFont { font: PdfFontHandle::External(font), size: Pt(8.0) },
                Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(MARGIN), Pt(30.0)) },
                Op::ShowText { items: vec![TextItem::Text(footer.to_string())] },
                Op::EndTextSection,
                Op::RestoreGraphicsState,
            ]);
        }
        for (name, page) in &self.sections {
            self.doc.add_bookmark(name, page + 1);
        }
        let info = &mut self.doc.metadata.info;
        info.document_title = title.to_string();
        info.author = author.to_string();
        info.creator = "Oversight Ledger".into();
        info.producer = "Oversight Ledger".into();
        info.subject = footer.to_string();
        if let Ok(created) = printpdf::OffsetDateTime::from_unix_timestamp(created_unix) {
            info.creation_date = created;
            info.modification_date = created;
            info.metadata_date = created;
        }
        let (width, height) = self.paper.millimetres();
        let pages: Vec<PdfPage> = std::mem::take(&mut self.pages)
            .into_iter()
            .map(|ops| PdfPage::new(Mm(width), Mm(height), ops))
            .collect();
        let mut warnings = Vec::new();
        self.doc
            .with_pages(pages)
            .save(&PdfSaveOptions { subset_fonts: true, ..Default::default() }, &mut warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_table_breaks_across_pages_and_repeats_its_header() {
        let mut w = Writer::new("test", Paper::A4).unwrap();
        let columns = [Column { header: "Officer", width: 200.0 }, Column { header: "Status", width: 200.0 }];
        let rows: Vec<Vec<String>> =
            (0..150).map(|i| vec![format!("Officer {i}"), "current".into()]).collect();
        w.table(&columns, &rows);
        assert!(w.pages.len() >= 3, "{} pages", w.pages.len());
        for (n, page) in w.pages.iter().enumerate() {
            let headers = page
                .iter()
                .filter(|op| matches!(op, Op::ShowText { items } if items == &vec![TextItem::Text("Officer".into())]))
                .count();
            assert_eq!(headers, 1, "page {} has the header once", n + 1);
        }
    }

    /// Every piece of text of a page: (x, baseline y, font size, text).
    fn texts(page: &[Op]) -> Vec<(f32, f32, f32, String)> {
        let (mut size, mut at, mut out) = (0.0, (0.0, 0.0), Vec::new());
        for op in page {
            match op {
                Op::SetFont { size: Pt(s), .. } => size = *s,
                Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(x), Pt(y)) } => at = (*x, *y),
                Op::ShowText { items } => {
                    for item in items {
                        if let TextItem::Text(t) = item {
                            out.push((at.0, at.1, size, t.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn letter_and_a4_keep_text_and_tables_inside_the_margins() {
        assert_eq!(Paper::Letter.points(), (612.0, 792.0));
        let (w, h) = Paper::A4.points();
        assert!((w - 595.28).abs() < 0.01 && (h - 841.89).abs() < 0.01, "{w} x {h}");
        let long = "a definition long enough to wrap over several lines of its column ".repeat(3);
        for paper in [Paper::Letter, Paper::A4] {
            let (width, height) = paper.points();
            let mut writer = Writer::new("test", paper).unwrap();
            writer.paragraph(&long, 9.0, false);
            // The report's measure table (495 pt, drawn for A4) and one
            // wider than either sheet's text width.
            let measures: Vec<Column> = [70.0, 135.0, 45.0, 70.0, 40.0, 50.0, 85.0]
                .iter()
                .map(|w| Column { header: "Heading of a column", width: *w })
                .collect();
            let rows: Vec<Vec<String>> = (0..60).map(|i| vec![format!("T{i} {long}"); 7]).collect();
            writer.table(&measures, &rows);
            let wide =
                [Column { header: "Officer", width: 300.0 }, Column { header: "Reason", width: 300.0 }];
            writer.table(&wide, &rows);
            writer.bar_chart("bars", &[("White".into(), Some(100.0)), ("Hispanic".into(), Some(40.0))]);
            let pages = writer.pages.clone();
            assert!(pages.len() > 3, "{paper:?}: the tables run over pages");
            for (n, page) in pages.iter().enumerate() {
                for (x, y, size, text) in texts(page) {
                    let right = x + text.chars().count() as f32 * size * CHAR_WIDTH;
                    let inside = x >= MARGIN
                        && right <= width - MARGIN + 0.5
                        && y >= BOTTOM
                        && y + size <= height - MARGIN + 0.5;
                    assert!(inside, "{paper:?} page {}: {text:?} at ({x}, {y}) to {right}", n + 1);
                }
            }
        }
    }

    #[test]
    fn wrapping_keeps_words_whole_and_splits_only_overlong_ones() {
        let lines = wrap("the quick brown fox jumps", 40.0, 10.0);
        // 40 / (10 × 0.56) = 7 characters a line.
        assert_eq!(lines, vec!["the", "quick", "brown", "fox", "jumps"]);
        assert_eq!(wrap("abcdefghij", 40.0, 10.0), vec!["abcdefg", "hij"]);
        assert_eq!(wrap("Łódź Nguyễn", 200.0, 10.0), vec!["Łódź Nguyễn"]);
    }
}
