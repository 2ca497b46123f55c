package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/llm"
	llmopenai "github.com/minirag/minirag/llm/openai"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// guardedChatModel is the SDK's default chat model (llm/openai on the
// bot's base URL, model and credentials), except that unless allowPrivate
// it never connects to a non-public address (loader.PublicAddress):
// tenants are self-service here, so a bot's base_url must not reach the
// server's own network. A base_url naming such an address is bad input
// naming base_url; the dialer checks the address actually dialled too (a
// name that resolves differently later).
func guardedChatModel(allowPrivate bool, log *slog.Logger) minirag.ChatModelFunc {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", loader.ErrBlockedAddress, address)
			}
			if ip, err := netip.ParseAddr(host); err != nil || !loader.PublicAddress(ip) {
				return fmt.Errorf("%w: %s", loader.ErrBlockedAddress, host)
			}
			return nil
		}
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}}
	return func(ctx context.Context, bot minirag.Bot, cred minirag.Credentials) (llm.Model, error) {
		if !allowPrivate {
			if err := checkPublicURL(ctx, bot.BaseURL); err != nil {
				return nil, err
			}
		}
		return llmopenai.New(llmopenai.Config{BaseURL: bot.BaseURL, APIKey: cred.APIKey, Model: bot.Model,
			ExtraHeaders: cred.Headers, HTTPClient: client, Logger: log})
	}
}

// checkPublicURL refuses a base URL whose host is, or resolves to, a
// non-public address. A name that does not resolve is left to the dial.
func checkPublicURL(ctx context.Context, raw string) error {
	if raw == "" {
		return nil // the provider's public default
	}
	u, err := url.Parse(raw)
	if err != nil {
		return record.Invalid("base_url", "must be an absolute http or https URL")
	}
	host := u.Hostname()
	ips := []netip.Addr{}
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = append(ips, ip)
	} else if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil
	}
	for _, ip := range ips {
		if !loader.PublicAddress(ip) {
			return fmt.Errorf("%w: %w", loader.ErrBlockedAddress,
				record.Invalid("base_url", "names a non-public address, which this server does not call (MINIRAG_ALLOW_PRIVATE_NETWORKS)"))
		}
	}
	return nil
}
