//go:build !linux

package install

import "errors"

const noFollow = 0

var errLinuxOnly = errors.New("install runs on Linux hosts only")

func exchange(a, b string) error { return errLinuxOnly }

func syncTree(dir string) error { return errLinuxOnly }

func lockDir(dir string) (func(), error) { return nil, errLinuxOnly }
