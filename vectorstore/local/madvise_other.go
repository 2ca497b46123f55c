//go:build !linux

package local

// populate does nothing where MADV_POPULATE_WRITE does not exist: the
// pages come in as they are written.
func populate([]byte) {}

// releasePages does nothing here: the snapshot's pages stay until the
// system reclaims them (they are clean file pages).
func releasePages([]byte, int64, int64) {}
