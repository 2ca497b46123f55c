//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package local

import "os"

// lockFile does nothing on this system: keeping one Store per folder is
// the caller's duty.
func lockFile(*os.File) error { return nil }
