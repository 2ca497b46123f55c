package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// mkdirDurable creates dir and any missing parents, like os.MkdirAll, and
// fsyncs the parent of every folder it created, so that after a power cut
// the new folders (and so the files fsynced in them later) are still
// reachable. A folder that already exists costs one Stat.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a folder", dir)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return syncDir(filepath.Dir(dir))
}
