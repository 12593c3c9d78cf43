//! What makes a report a tagged PDF/UA-1 and PDF/A-2 file (docs/reports.md,
//! "Accessible and archival"): the structure tree the writer builds while it
//! lays the pages out, and the catalog entries, XMP packet and sRGB output
//! intent added to printpdf's output through lopdf before the file is
//! stored and hashed.
//!
//! printpdf writes each piece of content between `BDC` and `EMC` with the
//! marked-content id (MCID) this tree hands out; the tree records which
//! structure element owns each id, which becomes the parent tree a reader
//! follows from a page's content back to its element.

use lopdf::{Dictionary, Object, ObjectId, Stream, StringFormat};

/// The sRGB profile of the output intent: PDF/A wants device RGB tied to
/// a colour space a reader can reproduce years later.
const SRGB: &[u8] = include_bytes!("../../assets/icc/sRGB.icc");

/// The language of every report's text.
pub const LANGUAGE: &str = "en-US";

/// A structure element of ISO 32000-1 §14.8.4's standard types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Document,
    H1,
    H2,
    H3,
    P,
    Table,
    TR,
    /// A column header: `/Scope /Column`.
    TH,
    TD,
    L,
    LI,
    LBody,
    Figure,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Document => "Document",
            Kind::H1 => "H1",
            Kind::H2 => "H2",
            Kind::H3 => "H3",
            Kind::P => "P",
            Kind::Table => "Table",
            Kind::TR => "TR",
            Kind::TH => "TH",
            Kind::TD => "TD",
            Kind::L => "L",
            Kind::LI => "LI",
            Kind::LBody => "LBody",
            Kind::Figure => "Figure",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Kid {
    Element(usize),
    /// A marked-content sequence: page index and MCID.
    Content(usize, i64),
}

#[derive(Debug)]
pub(super) struct Element {
    pub(super) kind: Kind,
    pub(super) parent: Option<usize>,
    pub(super) kids: Vec<Kid>,
    /// Alternative text (a Figure's values in words).
    pub(super) alt: Option<String>,
}

/// The structure tree in reading order, built as the pages are laid out.
#[derive(Debug)]
pub struct Tree {
    pub(super) elements: Vec<Element>,
    /// The elements opened and not yet closed; the last one owns new content.
    open: Vec<usize>,
    /// Per page, the element owning each MCID (the MCID is the index).
    owners: Vec<Vec<usize>>,
}

impl Default for Tree {
    fn default() -> Self {
        let document = Element { kind: Kind::Document, parent: None, kids: Vec::new(), alt: None };
        Self { elements: vec![document], open: vec![0], owners: Vec::new() }
    }
}

impl Tree {
    /// Opens an element inside the current one; it owns what follows
    /// until `close`.
    pub fn open(&mut self, kind: Kind, alt: Option<String>) {
        let parent = self.top();
        self.elements.push(Element { kind, parent: Some(parent), kids: Vec::new(), alt });
        let id = self.elements.len() - 1;
        self.elements[parent].kids.push(Kid::Element(id));
        self.open.push(id);
    }

    pub fn close(&mut self) {
        assert!(self.open.len() > 1, "the Document is never closed");
        self.open.pop();
    }

    /// The type of the element that owns new content.
    pub fn current(&self) -> Kind {
        self.elements[self.top()].kind
    }

    /// The innermost open element; the Document is never closed.
    fn top(&self) -> usize {
        *self.open.last().expect("the Document stays open")
    }

    /// A new MCID on `page` for the current element.
    pub fn mark(&mut self, page: usize) -> i64 {
        if self.owners.len() <= page {
            self.owners.resize_with(page + 1, Vec::new);
        }
        let owner = self.top();
        let mcid = self.owners[page].len() as i64;
        self.owners[page].push(owner);
        self.elements[owner].kids.push(Kid::Content(page, mcid));
        mcid
    }
}

/// The document's identification, written alike into the Info dictionary
/// and the XMP packet (PDF/A wants the two to agree).
pub struct Identity<'a> {
    pub title: &'a str,
    pub author: &'a str,
    pub subject: &'a str,
    pub created_unix: i64,
}

/// printpdf's document made tagged PDF/UA-1 and PDF/A-2: the structure
/// tree, each page's `/StructParents`, the catalog entries, Info and XMP,
/// the output intent, PDF 1.7; returns the file's bytes.
pub fn finish(mut doc: lopdf::Document, tree: &Tree, identity: &Identity) -> anyhow::Result<Vec<u8>> {
    doc.version = "1.7".into();
    // At least four bytes above 127 after the header: the file is binary.
    doc.binary_mark = vec![0xE2, 0xE3, 0xCF, 0xD3];
    doc.compress();
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    let root = structure(&mut doc, tree, &pages);
    for (n, page) in pages.iter().enumerate() {
        let page = doc.get_dictionary_mut(*page)?;
        page.set("StructParents", n as i64);
        // Tab order follows the structure (PDF/UA-1 7.18.3).
        page.set("Tabs", Object::Name(b"S".to_vec()));
    }
    let info = info(identity);
    let info = doc.add_object(info);
    doc.trailer.set("Info", info);
    let metadata = doc.add_object(Stream::new(
        Dictionary::from_iter([("Type", Object::from("Metadata")), ("Subtype", "XML".into())]),
        xmp(identity).into_bytes(),
    ));
    let intent = output_intent(&mut doc);
    let catalog = doc.catalog_mut()?;
    catalog.set("StructTreeRoot", root);
    catalog.set("MarkInfo", Dictionary::from_iter([("Marked", Object::Boolean(true))]));
    catalog.set("Lang", Object::string_literal(LANGUAGE));
    catalog.set("ViewerPreferences", Dictionary::from_iter([("DisplayDocTitle", Object::Boolean(true))]));
    catalog.set("Metadata", metadata);
    catalog.set("OutputIntents", vec![Object::Reference(intent)]);
    // printpdf writes the page mode as a string; PDF wants a name.
    if catalog.has(b"Outlines") {
        catalog.set("PageMode", Object::Name(b"UseOutlines".to_vec()));
    }
    let mut bytes = Vec::new();
    // The structure tree is thousands of small dictionaries: object
    // streams (PDF 1.5) keep them compressed.
    doc.save_modern(&mut bytes)?;
    Ok(bytes)
}

/// Writes every element as a StructElem, the StructTreeRoot and its
/// ParentTree (page n's array: the element of each of its MCIDs); returns
/// the root's id.
fn structure(doc: &mut lopdf::Document, tree: &Tree, pages: &[ObjectId]) -> ObjectId {
    let root = doc.new_object_id();
    let ids: Vec<ObjectId> = tree.elements.iter().map(|_| doc.new_object_id()).collect();
    for (n, element) in tree.elements.iter().enumerate() {
        let mut dict = Dictionary::new();
        dict.set("Type", Object::Name(b"StructElem".to_vec()));
        dict.set("S", Object::Name(element.kind.name().as_bytes().to_vec()));
        dict.set("P", element.parent.map(|p| ids[p]).unwrap_or(root));
        let first_page = element.kids.iter().find_map(|k| match k {
            Kid::Content(page, _) => Some(*page),
            Kid::Element(_) => None,
        });
        if let Some(page) = first_page {
            dict.set("Pg", pages[page]);
        }
        let kids: Vec<Object> = element
            .kids
            .iter()
            .map(|kid| match *kid {
                Kid::Element(e) => Object::Reference(ids[e]),
                Kid::Content(page, mcid) if Some(page) == first_page => Object::Integer(mcid),
                Kid::Content(page, mcid) => Dictionary::from_iter([
                    ("Type", Object::Name(b"MCR".to_vec())),
                    ("Pg", Object::Reference(pages[page])),
                    ("MCID", Object::Integer(mcid)),
                ])
                .into(),
            })
            .collect();
        // One kid is written alone, as most writers do (some readers
        // mishandle a one-item array).
        match <[Object; 1]>::try_from(kids) {
            Ok([kid]) => dict.set("K", kid),
            Err(kids) => dict.set("K", kids),
        }
        if let Some(alt) = &element.alt {
            dict.set("Alt", lopdf::text_string(alt));
        }
        if element.kind == Kind::TH {
            dict.set(
                "A",
                Dictionary::from_iter([
                    ("O", Object::Name(b"Table".to_vec())),
                    ("Scope", Object::Name(b"Column".to_vec())),
                ]),
            );
        }
        doc.objects.insert(ids[n], dict.into());
    }
    let mut nums = Vec::new();
    for n in 0..pages.len() {
        let owners = tree.owners.get(n).map(Vec::as_slice).unwrap_or(&[]);
        nums.push(Object::Integer(n as i64));
        nums.push(owners.iter().map(|e| Object::Reference(ids[*e])).collect::<Vec<_>>().into());
    }
    let parent_tree = doc.add_object(Dictionary::from_iter([("Nums", Object::Array(nums))]));
    let dict = Dictionary::from_iter([
        ("Type", Object::Name(b"StructTreeRoot".to_vec())),
        ("K", Object::Reference(ids[0])),
        ("ParentTree", Object::Reference(parent_tree)),
        ("ParentTreeNextKey", Object::Integer(pages.len() as i64)),
    ]);
    doc.objects.insert(root, dict.into());
    root
}

/// The sRGB output intent, `GTS_PDFA1` being the subtype PDF/A names.
fn output_intent(doc: &mut lopdf::Document) -> ObjectId {
    let profile =
        doc.add_object(Stream::new(Dictionary::from_iter([("N", Object::Integer(3))]), SRGB.to_vec()));
    doc.add_object(Dictionary::from_iter([
        ("Type", Object::Name(b"OutputIntent".to_vec())),
        ("S", Object::Name(b"GTS_PDFA1".to_vec())),
        ("OutputConditionIdentifier", Object::string_literal("sRGB IEC61966-2.1")),
        ("Info", Object::string_literal("sRGB IEC61966-2.1")),
        ("DestOutputProfile", Object::Reference(profile)),
    ]))
}

/// The moment in the two spellings: PDF's `D:YYYYMMDDHHmmSS+00'00'` and
/// XMP's ISO 8601.
fn dates(unix: i64) -> (String, String) {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (d, t) = (at.date(), at.time());
    let (y, mo, da, h, mi, s) = (d.year(), d.month() as u8, d.day(), t.hour(), t.minute(), t.second());
    (
        format!("D:{y:04}{mo:02}{da:02}{h:02}{mi:02}{s:02}+00'00'"),
        format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}+00:00"),
    )
}

fn info(identity: &Identity) -> Dictionary {
    let (date, _) = dates(identity.created_unix);
    Dictionary::from_iter([
        ("Title", lopdf::text_string(identity.title)),
        ("Author", lopdf::text_string(identity.author)),
        ("Subject", lopdf::text_string(identity.subject)),
        ("Creator", lopdf::text_string(PRODUCER)),
        ("Producer", lopdf::text_string(PRODUCER)),
        ("CreationDate", Object::String(date.clone().into_bytes(), StringFormat::Literal)),
        ("ModDate", Object::String(date.into_bytes(), StringFormat::Literal)),
    ])
}

const PRODUCER: &str = "Oversight Ledger";
/// The byte-order mark an XMP packet's header carries (XMP part 1, 7.3.2).
const BOM: char = '\u{feff}';

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The XMP packet: Dublin Core and XMP basics matching the Info
/// dictionary, PDF/A-2 conformance U (every glyph maps to Unicode),
/// PDF/UA-1, and the extension schema PDF/A asks for to declare the
/// pdfuaid property, which PDF/A-2 does not predefine.
fn xmp(identity: &Identity) -> String {
    let (_, date) = dates(identity.created_unix);
    let (title, author, subject) =
        (escape(identity.title), escape(identity.author), escape(identity.subject));
    format!(
        r#"<?xpacket begin="{BOM}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"
    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
   <dc:language><rdf:Bag><rdf:li>{LANGUAGE}</rdf:li></rdf:Bag></dc:language>
   <xmp:CreatorTool>{PRODUCER}</xmp:CreatorTool>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <pdf:Producer>{PRODUCER}</pdf:Producer>
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>U</pdfaid:conformance>
   <pdfuaid:part>1</pdfuaid:part>
   <pdfaExtension:schemas>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
      <pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
      <pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
      <pdfaSchema:property>
       <rdf:Seq>
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>part</pdfaProperty:name>
         <pdfaProperty:valueType>Integer</pdfaProperty:valueType>
         <pdfaProperty:category>internal</pdfaProperty:category>
         <pdfaProperty:description>Indicates which part of ISO 14289 the file conforms to</pdfaProperty:description>
        </rdf:li>
       </rdf:Seq>
      </pdfaSchema:property>
     </rdf:li>
    </rdf:Bag>
   </pdfaExtension:schemas>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_gives_each_page_its_own_mcids_in_order_and_remembers_owners() {
        let mut tree = Tree::default();
        tree.open(Kind::P, None);
        assert_eq!(tree.mark(0), 0);
        assert_eq!(tree.mark(0), 1);
        tree.close();
        tree.open(Kind::Table, None);
        tree.open(Kind::TR, None);
        tree.open(Kind::TH, None);
        assert_eq!(tree.current(), Kind::TH);
        assert_eq!(tree.mark(0), 2);
        // A new page starts again at 0.
        assert_eq!(tree.mark(1), 0);
        tree.close();
        tree.close();
        tree.close();
        assert_eq!(tree.current(), Kind::Document);
        assert_eq!(tree.owners, vec![vec![1, 1, 4], vec![4]]);
        assert_eq!(tree.elements[4].kids, vec![Kid::Content(0, 2), Kid::Content(1, 0)]);
        assert_eq!(tree.elements[0].kids, vec![Kid::Element(1), Kid::Element(2)]);
    }

    #[test]
    fn dates_agree_between_info_and_xmp() {
        // 2026-12-02 15:42:03 UTC.
        let (pdf, xmp) = dates(1_796_226_123);
        assert_eq!(pdf, "D:20261202154203+00'00'");
        assert_eq!(xmp, "2026-12-02T15:42:03+00:00");
    }
}
