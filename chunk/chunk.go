// Package chunk normalizes text and splits it into pieces that fit an
// embedding model's token limit.
//
//	raw text ──Normalize / NormalizeDocument──▶ normalized text
//	         ──TokenChunker or MarkdownChunker.Chunk──▶ []Piece{Text, Start, End, Tokens, HeadingPath}
//
// Normalize makes text stable (NFC, LF line ends, no control characters,
// collapsed spaces and blank lines) and rejects invalid UTF-8 with an error
// wrapping ErrInvalidUTF8; NormalizeDocument names the document in that
// error; Repair and NormalizeRepair replace bad bytes instead.
//
// Tokens are counted with OpenAI's tiktoken encodings (Cl100kBase by
// default, O200kBase), from BPE files embedded in the binary: nothing is
// downloaded, ever. Tokenizer exposes Count, Encode and Decode for other
// packages that budget tokens.
//
// Both chunkers encode a text once, map every token to its byte offsets,
// and choose the cuts on that map: TokenChunker at paragraph, then line,
// then sentence, then word boundaries (inside a word only when the word
// alone is over the limit, and never inside a UTF-8 sequence);
// MarkdownChunker along headings, fenced code blocks and table rows. Every
// piece is a slice of the input (Text == text[Start:End]), holds at most
// MaxTokens tokens counted on the piece itself, and the pieces, in order,
// cover every non-space character of the input. Consecutive pieces overlap
// by about Options.Overlap tokens.
//
// Chunkers and Tokenizers are safe for concurrent use; ChunkAll chunks many
// texts on all cores.
package chunk

// Piece is one chunk of a normalized text.
type Piece struct {
	// Text is the piece's text: text[Start:End] of the text given to Chunk.
	// It never starts or ends with a space character.
	Text string
	// Start and End are byte offsets into the text given to Chunk:
	// Text == text[Start:End]. Consecutive pieces may overlap.
	Start, End int
	// Tokens is Text's token count under the chunker's encoding.
	Tokens int
	// HeadingPath lists the markdown headings above the piece, outermost
	// first (markdown chunker only; nil before the first heading).
	HeadingPath []string
}

// Chunker splits a normalized text into pieces, in order.
type Chunker interface {
	Chunk(text string) ([]Piece, error)
}
