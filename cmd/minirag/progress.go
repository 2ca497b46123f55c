package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/minirag/minirag"
)

// progress shows an ingestion's progress on w: a bar redrawn in place on
// a terminal, else a plain line every 100 documents (and at the end).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	source   string
	terminal bool
	last     time.Time
	lastDocs int
	drawn    bool
}

func newProgress(w io.Writer, source string, terminal bool) *progress {
	return &progress{w: w, source: source, terminal: terminal}
}

// report is the IngestOptions.Progress callback.
func (p *progress) report(r minirag.IngestProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		if !r.Done && time.Since(p.last) < 100*time.Millisecond {
			return
		}
		p.last = time.Now()
		// Loaders stream: the document total is known at the end only, so
		// the bar follows chunks written against chunks found so far.
		const width = 30
		fill := 0
		if r.ChunksQueued > 0 {
			fill = min(width, r.Chunks*width/r.ChunksQueued)
		}
		if r.Done {
			fill = width
		}
		fmt.Fprintf(p.w, "\r%s [%s%s] %d documents, %d/%d chunks, %d unchanged, %d failed ",
			p.source, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), r.Documents, r.Chunks, r.ChunksQueued, r.Unchanged, r.Failed)
		p.drawn = true
		return
	}
	if r.Done || r.Documents-p.lastDocs >= 100 {
		p.lastDocs = r.Documents
		state := "progress"
		if r.Done {
			state = "done"
		}
		fmt.Fprintf(p.w, "ingest %s: %s: %d documents, %d chunks embedded, %d unchanged, %d failed, %d skipped\n",
			p.source, state, r.Documents, r.Chunks, r.Unchanged, r.Failed, r.Skipped)
	}
}

// finish ends the bar's line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
