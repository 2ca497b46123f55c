package minirag

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// checkModelEndpoint refuses, under Config.PublicModelEndpointsOnly, a
// bot base URL whose host is, or resolves to, a non-public address
// (loader.PublicAddress): bad input naming base_url that also matches
// loader.ErrBlockedAddress. A name that does not resolve now is left to
// the dial, which checks the address actually dialled.
func (c *Client) checkModelEndpoint(ctx context.Context, raw string) error {
	if !c.publicModels || raw == "" {
		return nil // no guard, or the provider's public default
	}
	u, err := url.Parse(raw)
	if err != nil {
		return record.Invalid("base_url", "must be an absolute http or https URL")
	}
	host := u.Hostname()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil
	}
	for _, ip := range ips {
		if !loader.PublicAddress(ip) {
			return fmt.Errorf("%w: %w", loader.ErrBlockedAddress,
				record.Invalid("base_url", "names a non-public address, which this server does not call"))
		}
	}
	return nil
}

// publicOnlyControl is a net.Dialer Control func refusing non-public
// addresses. It sees the address actually dialled, after DNS resolution,
// so a name resolving to a private address (or rebinding to one) is
// refused too.
func publicOnlyControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", loader.ErrBlockedAddress, address)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !loader.PublicAddress(ip) {
		return fmt.Errorf("%w: %s", loader.ErrBlockedAddress, host)
	}
	return nil
}

// publicOnlyHTTPClient returns the HTTP client of the default chat model
// under Config.PublicModelEndpointsOnly: every dial is checked by
// publicOnlyControl, and no proxy is used (a proxy would hide the
// destination from the check).
func publicOnlyHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: publicOnlyControl}
	return &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}}
}
