package loader

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The office formats read with the standard library alone.
func init() {
	isZip := func(head []byte) bool { return bytes.HasPrefix(head, zipMagic) }
	RegisterFormat(Format{
		Name:        "docx",
		ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		Extensions:  []string{".docx"},
		Sniff:       isZip,
		Parse:       parseDOCX,
	})
	RegisterFormat(Format{
		Name:        "pptx",
		ContentType: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
		Extensions:  []string{".pptx"},
		Sniff:       isZip,
		Parse:       parsePPTX,
	})
	RegisterFormat(Format{
		Name:        "odt",
		ContentType: "application/vnd.oasis.opendocument.text",
		Extensions:  []string{".odt"},
		Sniff:       isZip,
		Parse:       parseODT,
	})
	RegisterFormat(Format{
		Name:        "epub",
		ContentType: "application/epub+zip",
		Extensions:  []string{".epub"},
		Sniff:       isZip,
		Parse:       parseEPUB,
	})
}

// parseDOCX reads a Word document: paragraphs in order, paragraphs of a
// heading style (or outline level) as headings, list items as "- " lines,
// tables as markdown table rows. The title is docProps/core.xml's, else the
// first paragraph of the Title style.
func parseDOCX(ctx context.Context, data []byte, lim Limits) (Parsed, error) {
	a, err := openArchive(ctx, data, lim)
	if err != nil {
		return Parsed{}, err
	}
	const main = "word/document.xml"
	if !a.has(main) {
		return Parsed{}, fmt.Errorf("not a Word document (no %s)", main)
	}
	levels := map[string]int{} // style id → heading level (0: Title)
	if a.has("word/styles.xml") {
		sdata, err := a.read("word/styles.xml")
		if err != nil {
			return Parsed{}, err
		}
		if err := docxStyles(ctx, sdata, levels); err != nil {
			return Parsed{}, fmt.Errorf("word/styles.xml: %w", err)
		}
	}
	doc, err := a.read(main)
	if err != nil {
		return Parsed{}, err
	}
	var (
		md                 MarkdownBuilder
		para               strings.Builder
		inText             bool
		style              string
		outline            = -1
		list               bool
		tblDepth           int
		cell               strings.Builder
		cells              []string
		title, styledTitle string
	)
	err = walkXML(ctx, doc, func(_ *xml.Decoder, tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "p":
				para.Reset()
				style, outline, list = "", -1, false
			case "pStyle":
				style = attrOf(t, "val")
			case "outlineLvl":
				if n, err := strconv.Atoi(attrOf(t, "val")); err == nil && n < 9 {
					outline = n
				}
			case "numPr":
				list = true
			case "t":
				inText = true
			case "tab":
				if !inText {
					para.WriteByte('\t')
				}
			case "br", "cr":
				para.WriteByte('\n')
			case "tbl":
				tblDepth++
			case "tr":
				if tblDepth == 1 {
					cells = cells[:0]
				}
			case "tc":
				if tblDepth == 1 {
					cell.Reset()
				}
			}
		case xml.CharData:
			if inText {
				para.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				text := strings.TrimSpace(para.String())
				if text == "" {
					return nil
				}
				if tblDepth > 0 {
					if cell.Len() > 0 {
						cell.WriteByte(' ')
					}
					cell.WriteString(text)
					return nil
				}
				level, isHeading := levels[style]
				if outline >= 0 {
					level, isHeading = outline+1, true
				}
				switch {
				case isHeading && level == 0:
					if styledTitle == "" {
						styledTitle = text
					}
					md.Heading(1, text)
				case isHeading:
					md.Heading(min(level+1, 6), text) // the Title style is level 1
				case list:
					md.Paragraph("- " + text)
				default:
					md.Paragraph(text)
				}
			case "tc":
				if tblDepth == 1 {
					cells = append(cells, cell.String())
				}
			case "tr":
				if tblDepth == 1 && len(cells) > 0 {
					md.TableRow(cells)
				}
			case "tbl":
				tblDepth--
				if tblDepth == 0 {
					md.EndTable()
				}
			}
		}
		return nil
	})
	if err != nil {
		return Parsed{}, fmt.Errorf("%s: %w", main, err)
	}
	title = coreTitle(ctx, a, "docProps/core.xml")
	if title == "" {
		title = styledTitle
	}
	if strings.TrimSpace(md.String()) == "" {
		return Parsed{}, fmt.Errorf("the document has no text: %w", ErrNoText)
	}
	return Parsed{Title: title, Text: md.String()}, nil
}

// docxStyles maps the paragraph styles of word/styles.xml to heading
// levels: "heading N" (or an outline level N-1) gives N, "Title" gives 0.
func docxStyles(ctx context.Context, data []byte, levels map[string]int) error {
	var id string
	return walkXML(ctx, data, func(_ *xml.Decoder, tok xml.Token) error {
		se, ok := tok.(xml.StartElement)
		if !ok {
			return nil
		}
		switch se.Name.Local {
		case "style":
			id = attrOf(se, "styleId")
		case "name":
			name := strings.ToLower(attrOf(se, "val"))
			if n, ok := strings.CutPrefix(name, "heading "); ok {
				if lvl, err := strconv.Atoi(n); err == nil && lvl >= 1 && lvl <= 9 {
					levels[id] = lvl
				}
			} else if name == "title" {
				levels[id] = 0
			}
		case "outlineLvl":
			if _, set := levels[id]; !set && id != "" {
				if n, err := strconv.Atoi(attrOf(se, "val")); err == nil && n < 9 {
					levels[id] = n + 1
				}
			}
		}
		return nil
	})
}

// parsePPTX reads a slide deck: one "## Slide N: title" section per slide,
// in the presentation's order, with the slide's text (paragraphs of its
// shapes, table rows) and its speaker notes. The deck's title is
// docProps/core.xml's, else its first slide title.
func parsePPTX(ctx context.Context, data []byte, lim Limits) (Parsed, error) {
	a, err := openArchive(ctx, data, lim)
	if err != nil {
		return Parsed{}, err
	}
	const pres = "ppt/presentation.xml"
	if !a.has(pres) {
		return Parsed{}, fmt.Errorf("not a PowerPoint presentation (no %s)", pres)
	}
	rels, err := xmlRels(ctx, a, pres)
	if err != nil {
		return Parsed{}, err
	}
	pdata, err := a.read(pres)
	if err != nil {
		return Parsed{}, err
	}
	var slides []string
	err = walkXML(ctx, pdata, func(_ *xml.Decoder, tok xml.Token) error {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "sldId" {
			if target, ok := rels[attrOf(se, "id")]; ok {
				slides = append(slides, target)
			}
		}
		return nil
	})
	if err != nil {
		return Parsed{}, fmt.Errorf("%s: %w", pres, err)
	}
	if len(slides) == 0 { // no slide list: fall back to the slide parts in number order
		for name := range a.byName {
			if strings.HasPrefix(name, "ppt/slides/slide") && strings.HasSuffix(name, ".xml") {
				slides = append(slides, name)
			}
		}
		sort.Slice(slides, func(i, j int) bool { return slideNum(slides[i]) < slideNum(slides[j]) })
	}
	if len(slides) > lim.MaxPages {
		return Parsed{}, fmt.Errorf("%d slides (limit %d): %w", len(slides), lim.MaxPages, ErrLimit)
	}
	var md MarkdownBuilder
	text := false
	firstTitle := ""
	for i, name := range slides {
		sdata, err := a.read(name)
		if err != nil {
			return Parsed{}, err
		}
		title, body, err := slideText(ctx, sdata)
		if err != nil {
			return Parsed{}, fmt.Errorf("%s: %w", name, err)
		}
		notes := ""
		if srels, err := xmlRels(ctx, a, name); err == nil {
			for _, target := range srels {
				if strings.Contains(target, "notesSlide") && a.has(target) {
					if ndata, err := a.read(target); err == nil {
						_, nbody, _ := slideText(ctx, ndata)
						notes = strings.TrimSpace(strings.Join(nbody, "\n"))
					}
				}
			}
		}
		h := fmt.Sprintf("Slide %d", i+1)
		if firstTitle == "" {
			firstTitle = title
		}
		if title != "" {
			h += ": " + title
		}
		md.Heading(2, h)
		for _, b := range body {
			if strings.HasPrefix(b, "|") {
				md.TableRow(strings.Split(strings.Trim(b, "|"), "\x1f"))
				continue
			}
			md.EndTable()
			md.Paragraph(b)
		}
		md.EndTable()
		if notes != "" {
			md.Paragraph("Notes: " + notes)
		}
		if title != "" || len(body) > 0 || notes != "" {
			text = true
		}
	}
	if !text {
		return Parsed{}, fmt.Errorf("the presentation has no text: %w", ErrNoText)
	}
	title := coreTitle(ctx, a, "docProps/core.xml")
	if title == "" {
		title = firstTitle
	}
	return Parsed{Title: title, Text: md.String(), Metadata: map[string]string{"slides": strconv.Itoa(len(slides))}}, nil
}

func slideNum(name string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "ppt/slides/slide"), ".xml"))
	return n
}

// slideText returns the title of a slide (its title placeholder's text)
// and the text of its other shapes: one string per paragraph, and for a
// table row "|" followed by its cells separated by U+001F. Slide-number,
// date and footer placeholders are left out.
func slideText(ctx context.Context, data []byte) (title string, body []string, err error) {
	var (
		ph     string // placeholder type of the current shape
		para   strings.Builder
		inText bool
		shape  []string
		inCell bool
		cell   strings.Builder
		cells  []string
		titles []string
	)
	err = walkXML(ctx, data, func(_ *xml.Decoder, tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sp":
				ph, shape = "", nil
			case "ph":
				ph = attrOf(t, "type")
				if ph == "" {
					ph = "body"
				}
			case "p":
				para.Reset()
			case "t":
				inText = true
			case "br":
				para.WriteByte('\n')
			case "tr":
				cells = nil
			case "tc":
				inCell = true
				cell.Reset()
			}
		case xml.CharData:
			if inText {
				para.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				s := strings.TrimSpace(para.String())
				if s == "" {
					return nil
				}
				if inCell {
					if cell.Len() > 0 {
						cell.WriteByte(' ')
					}
					cell.WriteString(s)
				} else {
					shape = append(shape, s)
				}
			case "tc":
				inCell = false
				cells = append(cells, cell.String())
			case "tr":
				if len(cells) > 0 {
					body = append(body, "|"+strings.Join(cells, "\x1f"))
				}
			case "sp":
				switch ph {
				case "title", "ctrTitle":
					titles = append(titles, shape...)
				case "sldNum", "dt", "ftr", "hdr", "sldImg":
				default:
					body = append(body, shape...)
				}
				shape = nil
			}
		}
		return nil
	})
	return strings.Join(titles, " "), body, err
}

// parseODT reads an OpenDocument text: headings (text:h with their outline
// level), paragraphs, list items as "- " lines and tables as rows; notes
// and annotations are left out. The title is meta.xml's dc:title.
func parseODT(ctx context.Context, data []byte, lim Limits) (Parsed, error) {
	a, err := openArchive(ctx, data, lim)
	if err != nil {
		return Parsed{}, err
	}
	if !a.has("content.xml") {
		return Parsed{}, fmt.Errorf("not an OpenDocument text (no content.xml)")
	}
	content, err := a.read("content.xml")
	if err != nil {
		return Parsed{}, err
	}
	var (
		md       MarkdownBuilder
		para     strings.Builder
		depth    int // nesting of text:p / text:h
		level    int // heading level of the current text:h, 0 for text:p
		skip     int // inside a note or annotation
		listItem int
		tbl      int
		cell     strings.Builder
		cells    []string
	)
	err = walkXML(ctx, content, func(_ *xml.Decoder, tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			if skip > 0 {
				if t.Name.Local == "note" || t.Name.Local == "annotation" {
					skip++
				}
				return nil
			}
			switch t.Name.Local {
			case "note", "annotation", "tracked-changes":
				skip++
			case "h", "p":
				depth++
				if depth == 1 {
					para.Reset()
					level = 0
					if t.Name.Local == "h" {
						level, _ = strconv.Atoi(attrOf(t, "outline-level"))
						level = max(level, 1)
					}
				}
			case "s":
				n, _ := strconv.Atoi(attrOf(t, "c"))
				para.WriteString(strings.Repeat(" ", max(n, 1)))
			case "tab":
				para.WriteByte('\t')
			case "line-break":
				para.WriteByte('\n')
			case "list-item":
				listItem++
			case "table":
				tbl++
			case "table-row":
				if tbl == 1 {
					cells = cells[:0]
				}
			case "table-cell":
				if tbl == 1 {
					cell.Reset()
				}
			}
		case xml.CharData:
			if skip == 0 && depth > 0 {
				para.Write(t)
			}
		case xml.EndElement:
			if skip > 0 {
				if t.Name.Local == "note" || t.Name.Local == "annotation" || t.Name.Local == "tracked-changes" {
					skip--
				}
				return nil
			}
			switch t.Name.Local {
			case "h", "p":
				depth--
				if depth > 0 {
					return nil
				}
				text := strings.TrimSpace(para.String())
				switch {
				case text == "":
				case tbl > 0:
					if cell.Len() > 0 {
						cell.WriteByte(' ')
					}
					cell.WriteString(text)
				case level > 0:
					md.Heading(level, text)
				case listItem > 0:
					md.Paragraph("- " + text)
				default:
					md.Paragraph(text)
				}
			case "list-item":
				listItem--
			case "table-cell":
				if tbl == 1 {
					cells = append(cells, cell.String())
				}
			case "table-row":
				if tbl == 1 && len(cells) > 0 {
					md.TableRow(cells)
				}
			case "table":
				tbl--
				if tbl == 0 {
					md.EndTable()
				}
			}
		}
		return nil
	})
	if err != nil {
		return Parsed{}, fmt.Errorf("content.xml: %w", err)
	}
	if strings.TrimSpace(md.String()) == "" {
		return Parsed{}, fmt.Errorf("the document has no text: %w", ErrNoText)
	}
	return Parsed{Title: coreTitle(ctx, a, "meta.xml"), Text: md.String()}, nil
}

// parseEPUB reads an EPUB e-book: the XHTML documents of its spine in
// reading order, each turned into markdown by HTMLToText. The title is the
// package's dc:title.
func parseEPUB(ctx context.Context, data []byte, lim Limits) (Parsed, error) {
	a, err := openArchive(ctx, data, lim)
	if err != nil {
		return Parsed{}, err
	}
	cdata, err := a.read("META-INF/container.xml")
	if err != nil {
		return Parsed{}, fmt.Errorf("not an EPUB: %w", err)
	}
	var opf string
	err = walkXML(ctx, cdata, func(_ *xml.Decoder, tok xml.Token) error {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rootfile" && opf == "" {
			opf = resolve("", attrOf(se, "full-path"))
		}
		return nil
	})
	if err != nil || opf == "" {
		return Parsed{}, fmt.Errorf("META-INF/container.xml names no package document")
	}
	odata, err := a.read(opf)
	if err != nil {
		return Parsed{}, err
	}
	var (
		title   string
		inTitle bool
		hrefs   = map[string]string{}
		types   = map[string]string{}
		spine   []string
	)
	err = walkXML(ctx, odata, func(_ *xml.Decoder, tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "title":
				inTitle = title == ""
			case "item":
				hrefs[attrOf(t, "id")] = resolve(opf, attrOf(t, "href"))
				types[attrOf(t, "id")] = attrOf(t, "media-type")
			case "itemref":
				if attrOf(t, "linear") != "no" {
					spine = append(spine, attrOf(t, "idref"))
				}
			}
		case xml.CharData:
			if inTitle {
				title += string(t)
			}
		case xml.EndElement:
			inTitle = false
		}
		return nil
	})
	if err != nil {
		return Parsed{}, fmt.Errorf("%s: %w", opf, err)
	}
	if len(spine) > lim.MaxPages {
		return Parsed{}, fmt.Errorf("%d chapters (limit %d): %w", len(spine), lim.MaxPages, ErrLimit)
	}
	var out strings.Builder
	for _, id := range spine {
		name, ok := hrefs[id]
		if !ok || !strings.Contains(types[id], "html") {
			continue
		}
		x, err := a.read(name)
		if err != nil {
			return Parsed{}, err
		}
		if bytes.Contains(bytes.ToUpper(x[:min(len(x), 4096)]), []byte("<!ENTITY")) {
			return Parsed{}, fmt.Errorf("%s: %w", name, errXMLEntities)
		}
		_, text, err := HTMLToText(bytes.NewReader(x))
		if err != nil {
			return Parsed{}, fmt.Errorf("%s: %w", name, err)
		}
		if text = strings.TrimSpace(text); text != "" {
			if out.Len() > 0 {
				out.WriteString("\n\n")
			}
			out.WriteString(text)
		}
	}
	if out.Len() == 0 {
		return Parsed{}, fmt.Errorf("the book has no text: %w", ErrNoText)
	}
	return Parsed{Title: strings.TrimSpace(title), Text: out.String(),
		Metadata: map[string]string{"chapters": strconv.Itoa(len(spine))}}, nil
}
