package minirag

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// sourceLookupTimeout bounds the DNS lookup of a url source's host when
// the source is created or updated.
const sourceLookupTimeout = 3 * time.Second

// checkSourceTarget refuses, when a source is created or updated, what its
// ingestion would refuse for where it points: a file source whose path
// (a relative one resolved against the file root, see [Config].Loader)
// lies outside Loader.FileRoots is ErrInvalidInput naming config.path,
// and, unless Loader.AllowPrivateNetworks is set, a url source whose host
// is or resolves to a non-public address (loopback, private, link-local
// such as the cloud metadata address 169.254.169.254, see
// [loader.PublicAddress]) is ErrInvalidInput naming config.url. With
// resolve false only IP literals are checked (no I/O, for use inside a
// transaction); a name that does not resolve now is left to ingestion,
// whose dialer checks the address actually dialled.
func (c *Client) checkSourceTarget(ctx context.Context, t SourceType, cfg json.RawMessage, resolve bool) error {
	switch t {
	case SourceFile:
		// NewFile checks the path against the roots without I/O.
		_, err := loader.New(t, cfg, c.load)
		return err
	case SourceURL:
		if c.load.AllowPrivateNetworks {
			return nil
		}
		parsed, err := loader.ParseConfig(t, cfg)
		if err != nil {
			return err
		}
		u, err := url.Parse(strings.TrimSpace(parsed.(*loader.URLConfig).URL))
		if err != nil {
			return record.Invalid("config.url", "must be an absolute http or https URL")
		}
		host := strings.Trim(u.Hostname(), "[]")
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else if resolve {
			lctx, cancel := context.WithTimeout(ctx, sourceLookupTimeout)
			ips, _ = net.DefaultResolver.LookupNetIP(lctx, "ip", host)
			cancel()
		}
		for _, ip := range ips {
			if !loader.PublicAddress(ip) {
				return record.Invalid("config.url", "names a non-public address, which this server does not fetch")
			}
		}
	}
	return nil
}

// loaderOptions returns the host's loader options as the Client uses
// them: when FileRoots are set and BaseDir is not, the roots are made
// absolute (against the working directory, as before) and BaseDir is the
// first of them, so that a relative file source path names a file under
// the file root rather than under the process's working directory.
func loaderOptions(o loader.Options) (loader.Options, error) {
	if o.BaseDir != "" || len(o.FileRoots) == 0 {
		return o, nil
	}
	roots := make([]string, len(o.FileRoots))
	for i, r := range o.FileRoots {
		abs, err := filepath.Abs(r)
		if err != nil {
			return o, fmt.Errorf("minirag: Config.Loader.FileRoots[%d]: %w", i, err)
		}
		roots[i] = abs
	}
	o.FileRoots = roots
	o.BaseDir = roots[0]
	return o, nil
}
