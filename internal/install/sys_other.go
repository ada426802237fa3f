//go:build !linux

package install

import (
	"errors"
	"io/fs"
	"os"
)

// Elsewhere than on Linux, Run refuses before any of these is called
// (checkPlatform); they let the package build where operators work.

const noFollow = 0

var errLinuxOnly = errors.New("install runs on Linux hosts only")

func exchange(a, b string) error { return errLinuxOnly }

func syncTree(dir string) error { return errLinuxOnly }

func tryLock(f *os.File) (bool, error) { return false, errLinuxOnly }

func owner(fi fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }
