package loader

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

var zipMagic = []byte("PK\x03\x04")

// maxZipEntries bounds the entries of an office document or e-book.
const maxZipEntries = 10000

// zipMimetypeIs reports whether a zip's first entry is a stored "mimetype"
// file holding ct (the OpenDocument and EPUB convention).
func zipMimetypeIs(head []byte, ct string) bool {
	if len(head) < 30 || !bytes.HasPrefix(head, zipMagic) {
		return false
	}
	nameLen := int(binary.LittleEndian.Uint16(head[26:28]))
	extraLen := int(binary.LittleEndian.Uint16(head[28:30]))
	if 30+nameLen > len(head) || string(head[30:30+nameLen]) != "mimetype" {
		return false
	}
	start := 30 + nameLen + extraLen
	return start <= len(head) && bytes.HasPrefix(head[start:], []byte(ct))
}

// archive reads the entries of a zip held in memory within a budget of
// decompressed bytes shared by all entries.
type archive struct {
	ctx    context.Context
	zr     *zip.Reader
	byName map[string]*zip.File
	budget int64 // decompressed bytes left
	limit  int64
}

func openArchive(ctx context.Context, data []byte, lim Limits) (*archive, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a valid zip archive: %w", err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("zip archive has %d entries (limit %d): %w", len(zr.File), maxZipEntries, ErrLimit)
	}
	a := &archive{ctx: ctx, zr: zr, byName: make(map[string]*zip.File, len(zr.File)), budget: lim.MaxDecompressedBytes, limit: lim.MaxDecompressedBytes}
	for _, f := range zr.File {
		a.byName[strings.TrimPrefix(f.Name, "/")] = f
	}
	return a, nil
}

func (a *archive) has(name string) bool { _, ok := a.byName[name]; return ok }

// read returns an entry's bytes, counting them against the budget whatever
// the entry's header claims.
func (a *archive) read(name string) ([]byte, error) {
	if err := a.ctx.Err(); err != nil {
		return nil, err
	}
	f, ok := a.byName[name]
	if !ok {
		return nil, fmt.Errorf("%s is missing from the archive", name)
	}
	if f.UncompressedSize64 > uint64(a.budget) {
		return nil, a.overBudget()
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, a.budget+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > a.budget {
		return nil, a.overBudget()
	}
	a.budget -= int64(len(b))
	return b, nil
}

func (a *archive) overBudget() error {
	return fmt.Errorf("decompresses to more than %d bytes (a zip bomb?): %w", a.limit, ErrLimit)
}

// resolve returns the archive path of target, relative to the entry base
// (as in OOXML relationships and EPUB manifests).
func resolve(base, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	if i := strings.IndexAny(target, "#?"); i >= 0 {
		target = target[:i]
	}
	return strings.TrimPrefix(path.Clean(path.Join(path.Dir(base), target)), "/")
}

// errXMLEntities reports a document type declaration that declares
// entities (billion laughs and external entities are refused outright).
var errXMLEntities = errors.New("XML declares entities (refused)")

// walkXML decodes data token by token, calling fn for each; it refuses
// entity declarations and checks ctx every few thousand tokens.
func walkXML(ctx context.Context, data []byte, fn func(dec *xml.Decoder, tok xml.Token) error) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bad XML: %w", err)
		}
		if d, ok := tok.(xml.Directive); ok && bytes.Contains(bytes.ToUpper(d), []byte("ENTITY")) {
			return errXMLEntities
		}
		if err := fn(dec, tok); err != nil {
			return err
		}
	}
}

// attrOf returns the value of the attribute with local name local.
func attrOf(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// xmlRels reads an OOXML relationships part: Id → resolved target path.
func xmlRels(ctx context.Context, a *archive, part string) (map[string]string, error) {
	relsName := path.Join(path.Dir(part), "_rels", path.Base(part)+".rels")
	out := map[string]string{}
	if !a.has(relsName) {
		return out, nil
	}
	data, err := a.read(relsName)
	if err != nil {
		return nil, err
	}
	err = walkXML(ctx, data, func(_ *xml.Decoder, tok xml.Token) error {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Relationship" && attrOf(se, "TargetMode") != "External" {
			out[attrOf(se, "Id")] = resolve(part, attrOf(se, "Target"))
		}
		return nil
	})
	return out, err
}

// coreTitle reads the dc:title of an OOXML docProps/core.xml, if any.
func coreTitle(ctx context.Context, a *archive, name string) string {
	if !a.has(name) {
		return ""
	}
	data, err := a.read(name)
	if err != nil {
		return ""
	}
	var title string
	var in bool
	_ = walkXML(ctx, data, func(_ *xml.Decoder, tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			in = t.Name.Local == "title"
		case xml.CharData:
			if in && title == "" {
				title = strings.TrimSpace(string(t))
			}
		case xml.EndElement:
			in = false
		}
		return nil
	})
	return title
}
