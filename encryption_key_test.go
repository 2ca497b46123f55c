package minirag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateEncryptionKey(t *testing.T) {
	good, err := GenerateEncryptionKey()
	require.NoError(t, err)
	require.NoError(t, ValidateEncryptionKey(good))

	short := "c2VjcmV0LXNlY3JldC1zZWNyZXQ=" // base64 of 21 bytes, not 32
	for name, c := range map[string]struct{ key, msg string }{
		"empty":        {"", "is empty"},
		"white space":  {good + "\n", "white space"},
		"not base64":   {"not a key at all!", "is not a Fernet key"},
		"21 bytes":     {short, "is not a Fernet key"},
		"one too many": {good + "x", "is not a Fernet key"},
	} {
		err := ValidateEncryptionKey(c.key)
		require.Error(t, err, name)
		assert.ErrorIs(t, err, ErrInvalidInput, name)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, name)
		require.Len(t, ve.Fields, 1, name)
		assert.Equal(t, "encryption_key", ve.Fields[0].Field, name)
		assert.Contains(t, ve.Fields[0].Message, c.msg, name)
		if c.key != "" {
			assert.NotContains(t, err.Error(), strings.TrimSpace(c.key), "%s: the key is echoed", name)
		}
	}
}

func TestNewBadEncryptionKeyNamesItsIndex(t *testing.T) {
	st := newEnv(t).c.store
	good, err := GenerateEncryptionKey()
	require.NoError(t, err)
	bad := "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
	_, err = New(Config{Storage: st, EncryptionKeys: []string{good, bad, "", good}})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidInput)
	assert.Equal(t, 422, HTTPStatus(err))
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Fields, 2, "each bad key is named: %v", err)
	assert.Equal(t, "encryption_keys[1]", ve.Fields[0].Field)
	assert.Equal(t, "encryption_keys[2]", ve.Fields[1].Field)
	assert.Equal(t, "is empty", ve.Fields[1].Message)
	assert.True(t, strings.HasPrefix(err.Error(), "minirag: Config.EncryptionKeys: "), err.Error())
	assert.NotContains(t, err.Error(), bad)
	assert.NotContains(t, err.Error(), good)
}

func TestOpenDamagedKeyFile(t *testing.T) {
	dir := t.TempDir()
	const damaged = "half-a-key-ZXhhbXBsZQ"
	require.NoError(t, os.WriteFile(filepath.Join(dir, OpenKeyFile), []byte(damaged+"\n"), 0o600))
	_, err := Open(context.Background(), dir)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidInput)
	assert.Contains(t, err.Error(), OpenKeyFile, "the file is named")
	assert.NotContains(t, err.Error(), damaged)

	// A bad key given to Open is reported by index.
	_, err = Open(context.Background(), t.TempDir(), WithEncryptionKeys("not-a-key-value"))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	assert.Equal(t, "encryption_keys[0]", ve.Fields[0].Field)
}
