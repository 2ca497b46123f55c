#!/usr/bin/env bash
# Remakes the fixtures of loader/testdata/formats from the Prometheus
# documentation corpus (Apache-2.0; see loader/testdata/formats/README.md).
# Needs Debian's pandoc, groff, ghostscript, img2pdf, poppler-utils and
# libreoffice-{writer,calc,impress}-nogui. Usage:
#   scripts/make-format-fixtures.sh [testdata/prometheus-docs]
# The fixtures are committed; tests never run this script.
set -euo pipefail
src=${1:-testdata/prometheus-docs}
out=$(cd "$(dirname "$0")/.." && pwd)/loader/testdata/formats
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
# Markdown without front matter, with site-relative links made plain.
strip() { awk 'NR==1&&/^---$/{fm=1;next} fm&&/^---$/{fm=0;next} !fm' "$1" | sed -E 's/!\[[^]]*\]\([^)]*\)//g'; }
strip "$src/docs/introduction/faq.md" > "$tmp/faq.md"
strip "$src/docs/introduction/overview.md" > "$tmp/overview.md"
strip "$src/docs/practices/naming.md" > "$tmp/naming.md"
strip "$src/docs/concepts/data_model.md" > "$tmp/data_model.md"
strip "$src/docs/introduction/glossary.md" > "$tmp/glossary.md"

# PDF 1: groff -ms (via pandoc): hyphenation at line ends, a running page
# number header on every page, and a PDF outline (bookmarks).
# A 4.5 inch line makes groff hyphenate; LH/RF add a running header and
# footer to every page (ms puts the page number at the top centre).
pandoc -s "$tmp/faq.md" -M title="Prometheus FAQ" -t ms -o "$tmp/faq.ms"
{ printf '.nr LL 4.5i\n.ds LH Prometheus FAQ\n.ds RF Prometheus documentation\n'; cat "$tmp/faq.ms"; } > "$tmp/faq2.ms"
groff -ms -Tpdf "$tmp/faq2.ms" > "$out/faq.pdf" 2>/dev/null
pdftotext -layout "$out/faq.pdf" "$tmp/faq.txt"

# DOCX, ODT, EPUB, PPTX from pandoc; PDF 2 from LibreOffice (the DOCX).
pandoc -s "$tmp/overview.md" -M title="Prometheus overview" -o "$out/overview.docx"
pandoc -s "$tmp/naming.md" -M title="Metric and label naming" -o "$out/naming.odt"
pandoc -s "$tmp/glossary.md" -M title="Glossary" -o "$out/glossary.epub"
pandoc -s "$tmp/data_model.md" -M title="Data model" --slide-level=2 -o "$out/data_model.pptx"
soffice --headless --convert-to pdf --outdir "$tmp" "$out/overview.docx" >/dev/null
cp "$tmp/overview.pdf" "$out/overview.pdf"

# A scanned PDF: page 1 of overview.pdf rendered to an image, wrapped as an
# image-only PDF (no text layer).
pdftoppm -r 60 -f 1 -l 1 -png "$out/overview.pdf" "$tmp/scan"
img2pdf "$tmp"/scan*.png -o "$out/scanned.pdf"

# CSV and JSON Lines: the glossary's terms (### headings) and definitions.
awk -v q='"' '
  /^### /{ if (term!="") print_row(); term=substr($0,5); def=""; next }
  term!="" && NF { def = def (def==""?"":" ") $0 }
  END { if (term!="") print_row() }
  function print_row(  d,t) { d=def; gsub(q, q q, d); t=term; gsub(q, q q, t); n++;
    printf "%s,%s,%s,%s\n", "g" n, q t q, q d q, (n%2?"core":"ecosystem") }
  BEGIN { print "id,term,definition,area" }' "$tmp/glossary.md" > "$out/glossary.csv"
python3 - "$out/glossary.csv" "$out/glossary.jsonl" <<'PY'
import csv, json, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w") as o:
    for row in csv.DictReader(f):
        o.write(json.dumps({"id": row["id"], "term": row["term"], "definition": row["definition"], "tags": [row["area"]]}) + "\n")
PY
# XLSX from the CSV through LibreOffice Calc.
soffice --headless --convert-to xlsx --outdir "$out" "$out/glossary.csv" >/dev/null
ls -l "$out"
