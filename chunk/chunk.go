// Package chunk normalizes text and splits it into pieces that fit an
// embedding model's token limit.
package chunk

// Piece is one chunk of a normalized text.
type Piece struct {
	Text string
	// Start and End are byte offsets into the text given to Chunk:
	// Text == text[Start:End] unless the chunker documents otherwise.
	Start, End int
	// Tokens is Text's token count under the chunker's encoding.
	Tokens int
	// HeadingPath lists the markdown headings above the piece, outermost
	// first (markdown chunker only).
	HeadingPath []string
}

// Chunker splits a normalized text into pieces, in order.
type Chunker interface {
	Chunk(text string) ([]Piece, error)
}
