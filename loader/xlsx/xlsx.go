// Package xlsx registers XLSX (Excel workbooks) with package loader:
// importing it, even as
//
//	import _ "github.com/minirag/minirag/loader/xlsx"
//
// makes file and url sources read .xlsx files. It lives in its own package so
// that a host that does not import it does not link github.com/xuri/excelize.
//
// A workbook becomes one document: a "# Sheet" heading per sheet, then the
// sheet's rows in blocks of RowsPerBlock under a "###### Rows a–b" heading
// (spreadsheet row numbers), each block a markdown table that starts with
// the sheet's header row (its first non-empty row), so every chunk's heading
// path says its sheet and rows and every chunk carries the column names.
// Cell values are the formatted values the file holds (formulas as their
// cached results).
//
// Limits (loader.Limits): MaxDecompressedBytes bounds what excelize inflates
// (UnzipSizeLimit and UnzipXMLSizeLimit), MaxRecords the rows of the whole
// workbook, ParseTimeout as for every format.
package xlsx

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/minirag/minirag/loader"
)

// RowsPerBlock is the number of data rows under one "Rows a–b" heading.
const RowsPerBlock = 20

// Format is the XLSX format as registered with loader.RegisterFormat.
var Format = loader.Format{
	Name:        "xlsx",
	ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	Extensions:  []string{".xlsx", ".xlsm"},
	Sniff:       func(head []byte) bool { return bytes.HasPrefix(head, []byte("PK\x03\x04")) },
	Parse:       Parse,
}

func init() { loader.RegisterFormat(Format) }

// Parse reads a workbook into markdown (see the package documentation).
func Parse(ctx context.Context, data []byte, lim loader.Limits) (loader.Parsed, error) {
	lim = lim.WithDefaults()
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    lim.MaxDecompressedBytes,
		UnzipXMLSizeLimit: min(lim.MaxDecompressedBytes, 16<<20),
	})
	if err != nil {
		if strings.Contains(err.Error(), "size limit") {
			return loader.Parsed{}, fmt.Errorf("not read: %v: %w", err, loader.ErrLimit)
		}
		return loader.Parsed{}, fmt.Errorf("not a readable workbook: %w", err)
	}
	defer f.Close()
	var md loader.MarkdownBuilder
	total := 0
	sheets := f.GetSheetList()
	for _, sheet := range sheets {
		if err := ctx.Err(); err != nil {
			return loader.Parsed{}, err
		}
		rows, err := f.Rows(sheet)
		if err != nil {
			return loader.Parsed{}, fmt.Errorf("sheet %q: %w", sheet, err)
		}
		var header []string
		var block [][]string
		first, last := 0, 0
		headed := false
		flush := func() {
			if len(block) == 0 {
				return
			}
			if !headed {
				md.Heading(1, sheet)
				headed = true
			}
			md.Heading(6, fmt.Sprintf("Rows %d–%d", first, last))
			md.TableRow(header)
			for _, r := range block {
				md.TableRow(r)
			}
			md.EndTable()
			block = block[:0]
		}
		n := 0
		for rows.Next() {
			n++
			cells, err := rows.Columns()
			if err != nil {
				rows.Close()
				return loader.Parsed{}, fmt.Errorf("sheet %q row %d: %w", sheet, n, err)
			}
			if blank(cells) {
				continue
			}
			if header == nil {
				header = cells
				continue
			}
			if total++; total > lim.MaxRecords {
				rows.Close()
				return loader.Parsed{}, fmt.Errorf("more than %d rows: %w", lim.MaxRecords, loader.ErrLimit)
			}
			if total%1024 == 0 {
				if err := ctx.Err(); err != nil {
					rows.Close()
					return loader.Parsed{}, err
				}
			}
			for len(cells) < len(header) {
				cells = append(cells, "")
			}
			if len(block) == 0 {
				first = n
			}
			last = n
			block = append(block, cells)
			if len(block) == RowsPerBlock {
				flush()
			}
		}
		err = rows.Error()
		rows.Close()
		if err != nil {
			return loader.Parsed{}, fmt.Errorf("sheet %q: %w", sheet, err)
		}
		if header != nil && !headed && len(block) == 0 {
			// a sheet with a header row only
			md.Heading(1, sheet)
			md.TableRow(header)
			md.EndTable()
			continue
		}
		flush()
	}
	if strings.TrimSpace(md.String()) == "" {
		return loader.Parsed{}, fmt.Errorf("the workbook has no cells: %w", loader.ErrNoText)
	}
	title := ""
	if p, err := f.GetDocProps(); err == nil && p != nil {
		title = p.Title
	}
	return loader.Parsed{Title: title, Text: md.String(), Metadata: map[string]string{
		"sheets": strconv.Itoa(len(sheets)), "rows": strconv.Itoa(total),
	}}, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
