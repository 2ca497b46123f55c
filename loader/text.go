package loader

import (
	"context"
	"fmt"
	"strings"

	"github.com/minirag/minirag/record"
)

// TextKey is the Key of the one document a text source yields.
const TextKey = "text"

// TextLoader yields one document from a text source's inline content.
type TextLoader struct {
	cfg  TextConfig
	opts Options
}

// NewText returns the loader of a text source. The content must not be blank
// nor larger than MaxTextBytes (record.ErrInvalidInput naming
// config.content).
func NewText(cfg TextConfig, opts Options) (*TextLoader, error) {
	var v record.ValidationError
	if strings.TrimSpace(cfg.Content) == "" {
		v.Add("config.content", "is required")
	} else if len(cfg.Content) > MaxTextBytes {
		v.Add("config.content", fmt.Sprintf("is larger than %d bytes", MaxTextBytes))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &TextLoader{cfg: cfg, opts: opts}, nil
}

// Load emits one document: Key TextKey, the config's title (or else
// Options.Name, or else "text"), and the content as is.
func (l *TextLoader) Load(ctx context.Context, emit func(Document) error) error {
	if err := checkCtx(ctx); err != nil {
		return err
	}
	title := strings.TrimSpace(l.cfg.Title)
	if title == "" {
		title = strings.TrimSpace(l.opts.Name)
	}
	if title == "" {
		title = TextKey
	}
	return emit(Document{
		Key:   TextKey,
		Title: title,
		Text:  l.cfg.Content,
		Metadata: map[string]string{
			"content_type": "text/plain",
			"format":       "text",
		},
	})
}
