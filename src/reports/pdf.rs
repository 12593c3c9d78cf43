//! The oversight report as a PDF, laid out by hand with printpdf's ops: a y
//! cursor per page, tables that break across pages with their header
//! repeated, bar charts drawn as rectangles, "Page n of N" written once
//! every page exists, a bookmark per section, and DejaVu Sans embedded so
//! names such as "Nguyễn" and "Łódź" print (the built-in fonts are WinAnsi
//! only).
//!
//! Every piece of content is tagged as it is drawn (`tagged`): text and
//! bars belong to the heading, paragraph, table cell, list item or figure
//! being written; rules, repeated table headers and page numbers are
//! artifacts.

use std::collections::BTreeMap;

use printpdf::{
    Color, DictItem, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle,
    PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem, TextMatrix,
};

use super::tagged::{self, Identity, Kind, Tree};

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
    /// The structure tree, in reading order.
    tree: Tree,
    /// Set while drawing what a screen reader skips.
    artifact: bool,
}

/// A table column: header and width in points.
pub struct Column<'a> {
    pub header: &'a str,
    pub width: f32,
}

fn grey(level: f32) -> Color {
    Color::Rgb(Rgb::new(level, level, level, None))
}

/// Splits text into lines that fit `width` points at `size`. A line that
/// ends where the text had a space or a line break keeps one trailing
/// space: invisible on the page, it keeps the words apart when the lines
/// of a paragraph or a cell are read out as one piece of content.
pub fn wrap(text: &str, width: f32, size: f32) -> Vec<String> {
    let max = ((width / (size * CHAR_WIDTH)).floor() as usize).max(1);
    let mut lines = Vec::new();
    let paragraphs: Vec<&str> = text.split('\n').collect();
    for (n, paragraph) in paragraphs.iter().enumerate() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let mut word = word.to_string();
            while word.chars().count() > max {
                let head: String = word.chars().take(max).collect();
                word = word.chars().skip(max).collect();
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line) + " ");
                }
                lines.push(head);
            }
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
                lines.push(std::mem::take(&mut line) + " ");
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        if n + 1 < paragraphs.len() {
            line.push(' ');
        }
        lines.push(line);
    }
    lines
}

/// `/Tag <</MCID n>> BDC`: content owned by a structure element.
fn marked(tag: Kind, mcid: i64) -> Op {
    Op::BeginMarkedContentWithProperties {
        tag: tag.name().into(),
        properties: DictItem::Dict { map: BTreeMap::from([("MCID".to_string(), DictItem::Int(mcid))]) },
    }
}

/// `/Artifact <</Type /Pagination /Subtype /Footer>> BDC`: page numbers
/// and the footer line.
fn footer_artifact() -> Op {
    let name = |n: &str| DictItem::Name(n.as_bytes().to_vec());
    Op::BeginMarkedContentWithProperties {
        tag: "Artifact".into(),
        properties: DictItem::Dict {
            map: BTreeMap::from([
                ("Type".to_string(), name("Pagination")),
                ("Subtype".to_string(), name("Footer")),
            ]),
        },
    }
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
            tree: Tree::default(),
            artifact: false,
        })
    }

    /// Draws `ops` on the current page as one piece of content: marked
    /// with a new MCID of the element being written, or as an artifact.
    fn content(&mut self, ops: Vec<Op>) {
        if ops.is_empty() {
            return;
        }
        if self.pages.is_empty() {
            self.new_page();
        }
        let page = self.pages.len() - 1;
        let begin = if self.artifact {
            Op::BeginMarkedContent { tag: "Artifact".into() }
        } else {
            marked(self.tree.current(), self.tree.mark(page))
        };
        let out = &mut self.pages[page];
        out.push(begin);
        out.extend(ops);
        out.push(Op::EndMarkedContent);
    }

    /// Runs `draw` with everything it draws marked as an artifact.
    fn as_artifact(&mut self, draw: impl FnOnce(&mut Self)) {
        let was = std::mem::replace(&mut self.artifact, true);
        draw(self);
        self.artifact = was;
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

    /// Text at (x, y), y being the baseline, as one piece of content.
    fn put(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str, color: Color) {
        let ops = self.text(x, y, size, bold, text, color);
        self.content(ops);
    }

    /// The operators that show text at (x, y).
    fn text(&self, x: f32, y: f32, size: f32, bold: bool, text: &str, color: Color) -> Vec<Op> {
        let font = if bold { self.bold.clone() } else { self.regular.clone() };
        vec![
            Op::StartTextSection,
            Op::SetFillColor { col: color },
            Op::SetFont { font: PdfFontHandle::External(font), size: Pt(size) },
            Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(x), Pt(y)) },
            Op::ShowText { items: vec![TextItem::Text(text.to_string())] },
            Op::EndTextSection,
        ]
    }

    /// Wrapped lines across the page width, owned by the open element:
    /// one piece of content a page, so a heading or a paragraph on one
    /// page is one marked-content sequence.
    fn lines(&mut self, text: &str, size: f32, bold: bool) {
        let leading = size * 1.35;
        let mut run = Vec::new();
        for line in wrap(text, self.text_width(), size) {
            if self.y - leading < BOTTOM {
                self.content(std::mem::take(&mut run));
                self.new_page();
            }
            self.y -= leading;
            run.extend(self.text(MARGIN, self.y, size, bold, &line, grey(0.0)));
        }
        self.content(run);
        self.y -= size * 0.4;
    }

    /// Wrapped text as one structure element of `kind`.
    fn block(&mut self, kind: Kind, text: &str, size: f32, bold: bool) {
        self.tree.open(kind, None);
        self.lines(text, size, bold);
        self.tree.close();
    }

    /// A wrapped paragraph across the page width.
    pub fn paragraph(&mut self, text: &str, size: f32, bold: bool) {
        self.block(Kind::P, text, size, bold);
    }

    /// A signed checkpoint (a C2SP note) under its label, a line each, as
    /// both covers print it; nothing when there is none.
    pub fn checkpoint(&mut self, label: &str, note: &str) {
        if note.is_empty() {
            return;
        }
        self.paragraph(label, 10.0, true);
        for line in note.lines().filter(|l| !l.is_empty()) {
            self.paragraph(line, 8.0, false);
        }
    }

    /// The report's title on its cover, the one first-level heading.
    pub fn title(&mut self, text: &str) {
        self.block(Kind::H1, text, 24.0, true);
    }

    /// A list whose items read as paragraphs: each item is its own
    /// wrapped block, tagged `LI` with its text as `LBody`.
    pub fn list(&mut self, items: &[String], size: f32) {
        self.tree.open(Kind::L, None);
        for item in items {
            self.tree.open(Kind::LI, None);
            self.block(Kind::LBody, item, size, false);
            self.tree.close();
        }
        self.tree.close();
    }

    /// The width between the margins.
    fn text_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }

    /// A section heading (second level), bookmarked.
    pub fn section(&mut self, title: &str) {
        self.ensure(80.0);
        self.sections.push((title.to_string(), self.pages.len() - 1));
        self.y -= 10.0;
        self.block(Kind::H2, title, 15.0, true);
    }

    /// A measure's heading inside a section (third level).
    pub fn heading(&mut self, title: &str) {
        self.ensure(60.0);
        self.y -= 4.0;
        self.block(Kind::H3, title, 11.5, true);
    }

    fn rule(&mut self, y: f32) {
        let line = Line {
            points: vec![
                LinePoint { p: Point { x: Pt(MARGIN), y: Pt(y) }, bezier: false },
                LinePoint { p: Point { x: Pt(self.width - MARGIN), y: Pt(y) }, bezier: false },
            ],
            is_closed: false,
        };
        self.as_artifact(|w| {
            w.content(vec![
                Op::SetOutlineColor { col: grey(0.45) },
                Op::SetOutlineThickness { pt: Pt(0.6) },
                Op::DrawLine { line },
            ])
        });
    }

    /// One table row: a `TR` of `cell` elements, untagged when drawn as
    /// an artifact.
    fn row(&mut self, widths: &[f32], cells: &[Vec<String>], size: f32, cell: Kind) {
        let (leading, bold) = (size * 1.3, cell == Kind::TH);
        let height = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * leading + 4.0;
        let (top, tagged) = (self.y, !self.artifact);
        let mut x = MARGIN;
        if tagged {
            self.tree.open(Kind::TR, None);
        }
        for (width, lines) in widths.iter().zip(cells) {
            if tagged {
                self.tree.open(cell, None);
            }
            let ops = lines
                .iter()
                .enumerate()
                .flat_map(|(i, line)| {
                    self.text(x + 2.0, top - leading * (i as f32 + 1.0), size, bold, line, grey(0.0))
                })
                .collect();
            self.content(ops);
            if tagged {
                self.tree.close();
            }
            x += width;
        }
        if tagged {
            self.tree.close();
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
    /// It is one `Table`: the first header row is its `TH` cells, the
    /// copies on later pages are artifacts.
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
            w.row(&widths, &header, size, Kind::TH);
            let y = w.y + 1.0;
            w.rule(y);
        };
        self.tree.open(Kind::Table, None);
        self.ensure(header_height * 2.0);
        print_header(self);
        for cells in rows {
            let cells = wrapped(cells);
            let height = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * size * 1.3 + 4.0;
            if self.ensure(height) {
                self.as_artifact(print_header);
            }
            self.row(&widths, &cells, size, Kind::TD);
        }
        self.tree.close();
        self.y -= 8.0;
    }

    /// Horizontal bars, one per (label, value in percent), with the value
    /// written beside each bar so the chart does not rely on length alone.
    /// The chart is one `Figure` whose alternative text gives every value
    /// in words.
    pub fn bar_chart(&mut self, title: &str, bars: &[(String, Option<f64>)]) {
        let bar = 11.0;
        self.ensure(bar * bars.len() as f32 + 40.0);
        self.paragraph(title, 9.0, true);
        let max = bars.iter().filter_map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
        let (label_width, chart_width) = (150.0, self.text_width() - 200.0);
        let value_text = |v: &Option<f64>| v.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "no data".into());
        let words: Vec<String> =
            bars.iter().map(|(label, v)| format!("{label}: {}", value_text(v))).collect();
        self.tree.open(Kind::Figure, Some(format!("Bar chart of {title}: {}.", words.join("; "))));
        for (label, value) in bars {
            self.y -= bar + 3.0;
            let y = self.y;
            self.put(MARGIN, y + 2.0, 8.0, false, label, grey(0.0));
            let length = value.map(|v| (v / max) as f32 * chart_width).unwrap_or(0.0);
            self.content(vec![
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
            self.put(MARGIN + label_width + length + 4.0, y + 2.0, 8.0, false, &value_text(value), grey(0.0));
        }
        self.tree.close();
        self.y -= 10.0;
    }

    /// Writes "Page n of N" and the footer on every page as artifacts,
    /// bookmarks each section, and returns the tagged file's bytes.
    pub fn finish(
        mut self,
        title: &str,
        author: &str,
        footer: &str,
        created_unix: i64,
    ) -> anyhow::Result<Vec<u8>> {
        let total = self.pages.len();
        for n in 0..total {
            let text = format!("Page {} of {total}", n + 1);
            let width = text.chars().count() as f32 * 8.0 * CHAR_WIDTH;
            let number = self.text(self.width - MARGIN - width, 30.0, 8.0, false, &text, grey(0.25));
            let line = self.text(MARGIN, 30.0, 8.0, false, footer, grey(0.25));
            let page = &mut self.pages[n];
            page.extend([footer_artifact(), Op::SaveGraphicsState]);
            page.extend(number.into_iter().chain(line));
            page.extend([Op::RestoreGraphicsState, Op::EndMarkedContent]);
        }
        for (name, page) in &self.sections {
            self.doc.add_bookmark(name, page + 1);
        }
        self.doc.metadata.info.document_title = title.to_string();
        let (width, height) = self.paper.millimetres();
        let pages: Vec<PdfPage> = std::mem::take(&mut self.pages)
            .into_iter()
            .map(|ops| PdfPage::new(Mm(width), Mm(height), ops))
            .collect();
        let mut warnings = Vec::new();
        let options = PdfSaveOptions { subset_fonts: true, ..Default::default() };
        let doc = self.doc.with_pages(pages).to_lopdf_document(&options, &mut warnings);
        let identity = Identity { title, author, subject: footer, created_unix };
        tagged::finish(doc, &self.tree, &identity)
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

    /// The tag of the marked-content sequence around each "Officer" header
    /// cell, page by page.
    fn header_tags(pages: &[Vec<Op>]) -> Vec<Vec<String>> {
        pages
            .iter()
            .map(|page| {
                let mut open: Vec<String> = Vec::new();
                let mut tags = Vec::new();
                for op in page {
                    match op {
                        Op::BeginMarkedContent { tag } | Op::BeginMarkedContentWithProperties { tag, .. } => {
                            open.push(tag.clone())
                        }
                        Op::EndMarkedContent => {
                            open.pop();
                        }
                        Op::ShowText { items } if items == &vec![TextItem::Text("Officer".into())] => {
                            tags.push(open.join("/"))
                        }
                        _ => {}
                    }
                }
                tags
            })
            .collect()
    }

    #[test]
    fn a_table_over_pages_is_one_table_whose_repeated_headers_are_artifacts() {
        let mut w = Writer::new("test", Paper::A4).unwrap();
        let columns = [Column { header: "Officer", width: 200.0 }, Column { header: "Status", width: 200.0 }];
        let rows: Vec<Vec<String>> = (0..150).map(|i| vec![format!("O{i}"), "current".into()]).collect();
        w.table(&columns, &rows);
        let tags = header_tags(&w.pages);
        assert!(tags.len() >= 3);
        assert_eq!(tags[0], vec!["TH"], "the first header is the table's header row");
        for later in &tags[1..] {
            assert_eq!(later, &vec!["Artifact"], "a repeated header is an artifact");
        }
        // One Table under the Document: its first row is TH cells, the
        // other 150 rows TD cells.
        let table = &w.tree.elements[1];
        assert_eq!(table.kind, Kind::Table);
        let document: Vec<_> = w.tree.elements.iter().filter(|e| e.parent == Some(0)).collect();
        assert_eq!(document.len(), 1);
        let cells = |kind| w.tree.elements.iter().filter(|e| e.kind == kind).count();
        assert_eq!((cells(Kind::TR), cells(Kind::TH), cells(Kind::TD)), (151, 2, 300));
    }

    #[test]
    fn a_chart_is_a_figure_whose_alternative_text_gives_every_value() {
        let mut w = Writer::new("test", Paper::Letter).unwrap();
        w.bar_chart(
            "D3 search rate by race (percent)",
            &[("White".into(), Some(50.0)), ("Asian".into(), None)],
        );
        let figure = w.tree.elements.iter().find(|e| e.kind == Kind::Figure).expect("a figure");
        assert_eq!(
            figure.alt.as_deref(),
            Some("Bar chart of D3 search rate by race (percent): White: 50.0%; Asian: no data.")
        );
        // Labels, bars and values: three pieces of content a bar.
        assert_eq!(figure.kids.len(), 6);
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
                    // A trailing space separates words and draws nothing.
                    let right = x + text.trim_end().chars().count() as f32 * size * CHAR_WIDTH;
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
        assert_eq!(lines, vec!["the ", "quick ", "brown ", "fox ", "jumps"]);
        // A word split for its length gets no space where it was split.
        assert_eq!(wrap("abcdefghij", 40.0, 10.0), vec!["abcdefg", "hij"]);
        assert_eq!(wrap("ab abcdefghij", 40.0, 10.0), vec!["ab ", "abcdefg", "hij"]);
        assert_eq!(wrap("Łódź Nguyễn", 200.0, 10.0), vec!["Łódź Nguyễn"]);
        assert_eq!(wrap("one\ntwo", 200.0, 10.0), vec!["one ", "two"]);
    }
}
