//go:build unix

package loader

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A named pipe would block a reader forever: it is reported, never opened.
func TestFileLoaderSkipsNamedPipe(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe.txt"), 0o644))
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: dir}))
	require.NoError(t, err)
	assert.Empty(t, docs)
	assert.Equal(t, map[string]string{"pipe.txt": "not a regular file"}, skipMap(skips))

	_, _, err = loadAll(t, fileSource(FileConfig{Path: filepath.Join(dir, "pipe.txt")}))
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "pipe.txt: not a regular file")
}
