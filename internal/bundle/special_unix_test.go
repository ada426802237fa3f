//go:build unix

package bundle_test

import "syscall"

// Special files, made on Unix; elsewhere (special_other_test.go) the tests
// that need them skip.

const (
	sIFCHR = syscall.S_IFCHR
	sIFBLK = syscall.S_IFBLK
)

func mkfifo(path string, mode uint32) error { return syscall.Mkfifo(path, mode) }

func mknod(path string, mode uint32, dev int) error { return syscall.Mknod(path, mode, dev) }
