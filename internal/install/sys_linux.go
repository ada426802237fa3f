package install

import (
	"os"

	"golang.org/x/sys/unix"
)

// noFollow makes an open fail on a symlink.
const noFollow = unix.O_NOFOLLOW

// exchange swaps two paths in one step (renameat2 RENAME_EXCHANGE): there
// is no moment when the destination is missing.
func exchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}

// syncTree flushes the filesystem holding dir: one call for a tree of any
// size, instead of one fsync per file.
func syncTree(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
