package fernet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"testing"
	"time"
)

// specToken builds a Fernet token from already padded blocks, following the
// spec by hand (no padding added): used only to craft malformed tokens.
func specToken(t *testing.T, key string, blocks []byte, ts time.Time) []byte {
	t.Helper()
	k, err := base64.URLEncoding.DecodeString(key)
	if err != nil || len(k) != 32 {
		t.Fatal("bad key")
	}
	signKey, encKey := k[:16], k[16:]
	iv := make([]byte, aes.BlockSize)
	tok := []byte{version}
	tok = binary.BigEndian.AppendUint64(tok, uint64(ts.Unix()))
	tok = append(tok, iv...)
	bc, err := aes.NewCipher(encKey)
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(bc, iv).CryptBlocks(ct, blocks)
	tok = append(tok, ct...)
	m := hmac.New(sha256.New, signKey)
	m.Write(tok)
	tok = m.Sum(tok)
	return []byte(base64.URLEncoding.EncodeToString(tok))
}
