//go:build !unix

package config

import "io/fs"

// wakeFIFO does nothing where there are no FIFOs to wake: the goroutine
// reading the key file stays blocked until the process exits.
func wakeFIFO(path string, st fs.FileInfo) {}
