"""The structure check of a tagged report (issue 15), independent of the
writer: reads the PDF with pikepdf and prints one line per problem.

- the catalog: /MarkInfo <</Marked true>>, /Lang, /ViewerPreferences
  <</DisplayDocTitle true>>, a StructTreeRoot, an sRGB (3-component)
  GTS_PDFA1 output intent, XMP with pdfuaid:part 1 and pdfaid:part 2;
  PDF 1.7;
- the tree: only standard structure types, every TH with a /Scope,
  every Figure with a non-empty /Alt, the ParentTree pointing each MCID
  back to the element that lists it;
- every font embedded, a Type0 font with a /ToUnicode map;
- every page's content: each painting operator (text, path painting,
  images, shadings) inside a marked-content sequence with an MCID or
  inside an Artifact, every MCID listed by exactly one element, and
  every element's MCID found on its page.

Usage: python check_tagged.py FILE.pdf; exit 0 when nothing is wrong.
Prints "elements N, marked M, artifacts A, pages P" on success, each
Figure's alternative text ("Figure: …"), and "tree:" followed by the element types in reading order, one per line,
indented by depth (used by the tests to read the order back).
"""

import re
import sys

import pikepdf

STANDARD = {
    "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI",
    "Index", "NonStruct", "Private", "H", "H1", "H2", "H3", "H4", "H5", "H6", "P",
    "L", "LI", "Lbl", "LBody", "Table", "TR", "TH", "TD", "THead", "TBody", "TFoot",
    "Span", "Quote", "Note", "Reference", "BibEntry", "Code", "Link", "Annot",
    "Ruby", "RB", "RT", "RP", "Warichu", "WT", "WP", "Figure", "Formula", "Form",
}
# Operators that put marks on the page (ISO 32000-1 tables 59, 107, 92).
PAINTING = {"Tj", "TJ", "'", '"', "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "Do", "sh", "BI", "INLINE IMAGE"}

problems = []


def problem(text):
    problems.append(text)


def name(obj):
    return str(obj)[1:] if obj is not None else None


def main(path):
    pdf = pikepdf.open(path)
    root = pdf.Root
    if pdf.pdf_version != "1.7":
        problem(f"PDF version {pdf.pdf_version}, not 1.7")
    mark = root.get("/MarkInfo")
    if mark is None or not bool(mark.get("/Marked", False)):
        problem("catalog: no /MarkInfo <</Marked true>>")
    if not str(root.get("/Lang", "")):
        problem("catalog: no /Lang")
    prefs = root.get("/ViewerPreferences")
    if prefs is None or not bool(prefs.get("/DisplayDocTitle", False)):
        problem("catalog: no /ViewerPreferences <</DisplayDocTitle true>>")
    intents = root.get("/OutputIntents", [])
    if not any(
        name(i.get("/S")) == "GTS_PDFA1" and int(i.DestOutputProfile.get("/N", 0)) == 3 for i in intents
    ):
        problem("catalog: no sRGB GTS_PDFA1 output intent")
    if "/Metadata" not in root:
        problem("catalog: no XMP metadata")
    else:
        xmp = bytes(root.Metadata.read_bytes()).decode("utf-8")
        if not re.search(r"<pdfuaid:part>1</pdfuaid:part>", xmp):
            problem("XMP: no pdfuaid:part 1")
        if not re.search(r"<pdfaid:part>2</pdfaid:part>", xmp):
            problem("XMP: no pdfaid:part 2")
    tree = root.get("/StructTreeRoot")
    if tree is None:
        problem("catalog: no StructTreeRoot")
        return report(0, 0, 0, len(pdf.pages), [], [])

    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    owners = {}  # (page, mcid) -> element objgen
    outline = []
    alts = []
    count = 0

    def walk(element, depth, inherited_page):
        nonlocal count
        count += 1
        kind = name(element.get("/S"))
        outline.append("  " * depth + str(kind))
        if kind not in STANDARD:
            problem(f"element {element.objgen}: non-standard type {kind}")
        if kind == "TH":
            attributes = element.get("/A")
            if attributes is None or "/Scope" not in attributes:
                problem(f"TH {element.objgen} has no /Scope")
        if kind == "Figure":
            alt = str(element.get("/Alt", "")).strip()
            if not alt:
                problem(f"Figure {element.objgen} has no /Alt")
            alts.append(alt)
        page = element.get("/Pg")
        page = pages.get(page.objgen) if page is not None else inherited_page
        kids = element.get("/K")
        if kids is None:
            kids = []
        elif not isinstance(kids, pikepdf.Array):
            kids = [kids]
        for kid in kids:
            if isinstance(kid, int):
                claim(page, int(kid), element)
            elif isinstance(kid, pikepdf.Dictionary) and name(kid.get("/Type")) == "MCR":
                claim(pages.get(kid.Pg.objgen) if "/Pg" in kid else page, int(kid.MCID), element)
            elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                walk(kid, depth + 1, page)
            else:
                problem(f"element {element.objgen}: kid {kid!r} is neither an element nor content")

    def claim(page, mcid, element):
        if page is None:
            problem(f"element {element.objgen}: MCID {mcid} without a page")
        elif (page, mcid) in owners:
            problem(f"page {page + 1} MCID {mcid} listed twice")
        else:
            owners[(page, mcid)] = element.objgen

    kids = tree.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        walk(kid, 0, None)

    # The parent tree: page n's /StructParents key maps MCID i to its owner.
    nums = list(tree.ParentTree.get("/Nums", []))
    parents = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
    found = set()
    marked = artifacts = 0
    for n, page in enumerate(pdf.pages):
        fonts(n, page)
        key = page.get("/StructParents")
        array = parents.get(int(key)) if key is not None else None
        stack = []
        for operands, operator in pikepdf.parse_content_stream(page):
            op = str(operator)
            if op in ("BDC", "BMC"):
                tag = name(operands[0])
                mcid = None
                if op == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
                    mcid = int(operands[1].MCID)
                stack.append((tag, mcid))
                if tag == "Artifact":
                    artifacts += 1
                if mcid is not None:
                    marked += 1
                    if (n, mcid) in found:
                        problem(f"page {n + 1}: MCID {mcid} used twice")
                    found.add((n, mcid))
                    owner = owners.get((n, mcid))
                    if owner is None:
                        problem(f"page {n + 1}: MCID {mcid} belongs to no element")
                    elif array is None or mcid >= len(array) or array[mcid].objgen != owner:
                        problem(f"page {n + 1}: the parent tree does not lead MCID {mcid} to its element")
            elif op == "EMC":
                if not stack:
                    problem(f"page {n + 1}: EMC without BDC")
                else:
                    stack.pop()
            elif op in PAINTING:
                if not any(tag == "Artifact" or mcid is not None for tag, mcid in stack):
                    problem(f"page {n + 1}: {op} outside any structure element or artifact")
        if stack:
            problem(f"page {n + 1}: marked content left open")
    for page, mcid in sorted(set(owners) - found):
        problem(f"page {page + 1}: MCID {mcid} of the tree is not in the content")
    return report(count, marked, artifacts, len(pdf.pages), outline, alts)


def fonts(n, page):
    """Every font embedded, and a Type0 font's glyphs mapped to Unicode."""
    for key, font in page.get("/Resources", {}).get("/Font", {}).items():
        described = font.DescendantFonts[0] if "/DescendantFonts" in font else font
        descriptor = described.get("/FontDescriptor")
        if descriptor is None or not any(f in descriptor for f in ("/FontFile", "/FontFile2", "/FontFile3")):
            problem(f"page {n + 1}: font {key} is not embedded")
        if name(font.get("/Subtype")) == "Type0" and "/ToUnicode" not in font:
            problem(f"page {n + 1}: font {key} has no /ToUnicode map")


def report(elements, marked, artifacts, pages, outline, alts):
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"elements {elements}, marked {marked}, artifacts {artifacts}, pages {pages}")
    for alt in alts:
        print(f"Figure: {alt}")
    print("tree:")
    print("\n".join(outline))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
