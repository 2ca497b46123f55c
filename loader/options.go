package loader

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/minirag/minirag/record"
)

// DefaultUserAgent is the User-Agent header of the url loader's requests.
const DefaultUserAgent = "MiniRAG/1.0 (+https://github.com/minirag/minirag)"

// DefaultMaxRedirects bounds the redirects the url loader follows per request.
const DefaultMaxRedirects = 5

// Options are a host's settings for the loaders it creates. The zero value is
// usable and safe for a multi-tenant host as far as URLs go (private
// networks refused), but reads any file path: set FileRoots.
type Options struct {
	// HTTPClient sends the url loader's requests. Nil means a client built
	// by this package whose dialer enforces AllowPrivateNetworks. A client
	// given here is used as is for transport (its dialer is its own: the
	// address guard then only checks IP literals in URLs); its redirect
	// policy is replaced by the loader's.
	HTTPClient *http.Client
	// OnSkip, if set, is called for each file or page passed over, with
	// the reason. It is called from the goroutine running Load.
	OnSkip func(Skipped)
	// Logger receives debug and warning records; nil means silent.
	Logger *slog.Logger
	// Name is the source's name: the title of a text document whose config
	// has none. Empty means "text".
	Name string
	// BaseDir resolves relative file paths; empty means the process's
	// working directory.
	BaseDir string
	// FileRoots, when not empty, confines file sources: a path outside every
	// root is rejected (record.ErrInvalidInput naming config.path), and files
	// are opened through os.Root, so symbolic links leading out of the root
	// are not followed. Roots are resolved against BaseDir.
	FileRoots []string
	// AllowPrivateNetworks lets url sources reach loopback, private,
	// link-local and other non-public addresses. Leave it false on a host
	// whose tenants must not probe its internal network (server-side request
	// forgery); tests against 127.0.0.1 servers set it.
	AllowPrivateNetworks bool
	// IgnoreRobots makes url crawls ignore robots.txt (see URLLoader).
	IgnoreRobots bool
	// UserAgent overrides DefaultUserAgent.
	UserAgent string
	// MaxRedirects overrides DefaultMaxRedirects (negative: none followed).
	MaxRedirects int
	// Limits bound the parsing of each file or page of a registered
	// Format (PDF, office documents, e-books) and of records files; the
	// zero value means the defaults.
	Limits Limits
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (o *Options) skip(key, reason string) {
	o.logger().Debug("loader: skipped", "key", key, "reason", reason)
	if o.OnSkip != nil {
		o.OnSkip(Skipped{Key: key, Reason: reason})
	}
}

// New returns the Loader of a source of type t whose configuration is raw
// (JSON, as in record.Source.Config). The config is checked by ParseConfig,
// and file paths against opts.FileRoots; bad input gives an error wrapping
// record.ErrInvalidInput naming the field. New does no I/O.
func New(t record.SourceType, raw json.RawMessage, opts Options) (Loader, error) {
	cfg, err := ParseConfig(t, raw)
	if err != nil {
		return nil, err
	}
	switch c := cfg.(type) {
	case *TextConfig:
		return NewText(*c, opts)
	case *FileConfig:
		return NewFile(*c, opts)
	case *URLConfig:
		return NewURL(*c, opts)
	default:
		return nil, fmt.Errorf("loader: unexpected config type %T", cfg)
	}
}

// checkCtx returns ctx's error, if any, wrapped.
func checkCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	return nil
}
