//go:build !unix

package bundle_test

import "errors"

// No special files here: the tests that need them skip
// (special_unix_test.go makes them on Unix).

const (
	sIFCHR = 0
	sIFBLK = 0
)

var errNoSpecialFiles = errors.New("no fifos or device nodes on this platform")

func mkfifo(path string, mode uint32) error { return errNoSpecialFiles }

func mknod(path string, mode uint32, dev int) error { return errNoSpecialFiles }
