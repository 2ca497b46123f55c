package restapi

// PDF and XLSX files are read by their own loader packages, linked only
// by the programs that import them (docs/FORMATS.md); DOCX, PPTX, ODT,
// EPUB, CSV and JSON Lines are built into package loader.
import (
	_ "github.com/minirag/minirag/loader/pdf"
	_ "github.com/minirag/minirag/loader/xlsx"
)
