// Package fernet is MiniRAG's thin layer over github.com/fernet/fernet-go:
// a key ring for rotation (the first key encrypts, every key decrypts),
// explicit clocks, and a few checks fernet-go leaves out.
//
// Encryption is fernet-go's EncryptAndSignAtTime (random IV from
// crypto/rand, the timestamp given). Decryption parses the token itself to
// check its version, length and timestamp against an injected clock (fernet-go
// reads time.Now), then asks fernet-go's VerifyAndDecrypt (with ttl 0, so
// fernet-go does no clock check of its own) to check the HMAC and decrypt,
// key by key, and finally checks that the PKCS #7 padding fernet-go stripped
// was 1 to 16 bytes (fernet-go accepts a zero pad byte).
//
// Errors never contain key material or plaintext.
package fernet

import (
	"crypto/aes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	fernetgo "github.com/fernet/fernet-go"
)

// ErrInvalidToken reports a token that is malformed, was not made with any
// key of the ring, is tampered with, or fails its time checks. It never says
// which, so it leaks nothing to an attacker.
var ErrInvalidToken = errors.New("fernet: invalid token")

// MaxClockSkew is how far in the future a token's timestamp may be when a
// TTL is checked.
const MaxClockSkew = 60 * time.Second

const (
	version    = 0x80
	headerLen  = 1 + 8 + aes.BlockSize // version, timestamp, IV
	minTokLen  = headerLen + aes.BlockSize + sha256.Size
	timeOffset = 1
)

// Keyring holds one or more keys. The first encrypts; all decrypt.
type Keyring struct {
	keys []*fernetgo.Key
}

// ParseKeys decodes keys, each a URL-safe base64 encoding of 32 bytes (the
// format of Python's cryptography.fernet.Fernet.generate_key). An error names
// the bad key by index only.
func ParseKeys(keys []string) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("fernet: no keys")
	}
	r := &Keyring{keys: make([]*fernetgo.Key, len(keys))}
	for i, s := range keys {
		k, err := fernetgo.DecodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("fernet: key %d is not URL-safe base64 of 32 bytes", i)
		}
		r.keys[i] = k
	}
	return r, nil
}

// GenerateKey returns a new random key, URL-safe base64 encoded.
func GenerateKey() (string, error) {
	var k fernetgo.Key
	if err := k.Generate(); err != nil {
		return "", fmt.Errorf("fernet: generate key: %w", err)
	}
	return k.Encode(), nil
}

// Len returns the number of keys.
func (r *Keyring) Len() int { return len(r.keys) }

// Encrypt encrypts and signs msg with the first key, stamped with now.
func (r *Keyring) Encrypt(msg []byte, now time.Time) ([]byte, error) {
	tok, err := fernetgo.EncryptAndSignAtTime(msg, r.keys[0], now)
	if err != nil {
		return nil, fmt.Errorf("fernet: encrypt: %w", err)
	}
	return tok, nil
}

// Decrypt verifies tok and returns its message and the index of the key that
// opened it (0 means the current key). With ttl > 0 the token must have
// been made at most ttl before now and at most MaxClockSkew after it; with
// ttl 0 its age is not checked.
func (r *Keyring) Decrypt(tok []byte, ttl time.Duration, now time.Time) ([]byte, int, error) {
	raw := make([]byte, base64.URLEncoding.DecodedLen(len(tok)))
	n, err := base64.URLEncoding.Decode(raw, tok)
	if err != nil {
		return nil, -1, ErrInvalidToken
	}
	raw = raw[:n]
	if len(raw) < minTokLen || raw[0] != version {
		return nil, -1, ErrInvalidToken
	}
	payloadLen := len(raw) - headerLen - sha256.Size
	if payloadLen%aes.BlockSize != 0 {
		return nil, -1, ErrInvalidToken
	}
	if ttl > 0 {
		ts := time.Unix(int64(binary.BigEndian.Uint64(raw[timeOffset:])), 0)
		if now.After(ts.Add(ttl)) || ts.After(now.Add(MaxClockSkew)) {
			return nil, -1, ErrInvalidToken
		}
	}
	for i, k := range r.keys {
		msg := fernetgo.VerifyAndDecrypt(tok, 0, []*fernetgo.Key{k})
		if msg == nil {
			continue
		}
		if pad := payloadLen - len(msg); pad < 1 || pad > aes.BlockSize {
			return nil, -1, ErrInvalidToken
		}
		return msg, i, nil
	}
	return nil, -1, ErrInvalidToken
}
