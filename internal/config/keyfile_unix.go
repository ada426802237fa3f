//go:build unix

package config

import (
	"io/fs"
	"os"
	"syscall"
)

// wakeFIFO ends an open of the FIFO at path that waits for a writer, by
// opening it for writing without blocking and closing it at once: the
// reader then reads end of file. It does nothing when path is no longer the
// FIFO st describes, or when no reader waits.
func wakeFIFO(path string, st fs.FileInfo) {
	if now, err := os.Stat(path); err != nil || now.Mode()&fs.ModeNamedPipe == 0 || !os.SameFile(st, now) {
		return
	}
	if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
}
