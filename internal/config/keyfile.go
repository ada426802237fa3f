package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// MaxKeyFileSize bounds what ReadKeyFile reads: an age identity file (a few
// comment lines and one or more AGE-SECRET-KEY-1... lines, post-quantum
// ones included) is far smaller.
const MaxKeyFileSize = 64 << 10

// stdinNames are the paths that name the process's own standard input.
var stdinNames = map[string]bool{"/dev/stdin": true, "/dev/fd/0": true, "/proc/self/fd/0": true}

// ReadKeyFile reads the age identity file of --age-key-file: at most
// MaxKeyFileSize bytes, more is an error.
//
// What it reads, decided from a stat of path (symlinks followed) before
// opening it:
//   - a regular file;
//   - a FIFO: a named pipe, or a pipe the shell passes as /dev/fd/N
//     (`--age-key-file <(cat key)`, or `/dev/stdin` when stdin is a pipe);
//   - a character device only when path names the process's standard input
//     itself (/dev/stdin, /dev/fd/0, /proc/self/fd/0): a terminal, or
//     whatever device stdin was redirected from, read up to the same limit.
//
// Anything else is refused unopened: a directory, a block device, a socket,
// and character devices such as /dev/zero or /dev/urandom.
//
// Opening a FIFO waits for a writer and reading waits for data: when ctx is
// done first, ReadKeyFile returns an error that Is ctx.Err() at once. It
// then wakes a FIFO's pending open and stops a pending read when it can;
// otherwise the goroutine doing the read stays blocked until the process
// exits.
//
// Errors other than ctx's are *problem.UsageError naming --age-key-file and path;
// none quotes what the file holds.
func ReadKeyFile(ctx context.Context, path string) ([]byte, error) {
	fail := func(format string, args ...any) error {
		return problem.Usagef("--age-key-file %s: %s", path, fmt.Sprintf(format, args...))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("--age-key-file %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fail("%v", unwrapPath(err))
	}
	switch m := st.Mode(); {
	case m.IsRegular(), m&fs.ModeNamedPipe != 0:
	case m.IsDir():
		return nil, fail("is a directory, not a file holding the age identity")
	case m&fs.ModeCharDevice != 0 && stdinNames[filepath.Clean(path)]:
	case m&fs.ModeCharDevice != 0:
		return nil, fail("is a character device, not a file holding the age identity (only a file, a pipe or /dev/stdin is read)")
	case m&fs.ModeDevice != 0:
		return nil, fail("is a block device, not a file holding the age identity")
	default:
		return nil, fail("is a %s, not a file holding the age identity (only a file, a pipe or /dev/stdin is read)", kind(m))
	}

	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	var (
		mu       sync.Mutex
		opened   *os.File
		canceled bool
	)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			done <- result{err: fail("%v", unwrapPath(err))}
			return
		}
		defer f.Close()
		mu.Lock()
		if canceled {
			mu.Unlock()
			return
		}
		opened = f
		mu.Unlock()
		// What was opened must be what was checked, not a file swapped in
		// since.
		if fst, err := f.Stat(); err != nil || !os.SameFile(st, fst) {
			done <- result{err: fail("changed while being opened")}
			return
		}
		data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
		switch {
		case err != nil:
			done <- result{err: fail("%v", unwrapPath(err))}
		case len(data) > MaxKeyFileSize:
			clear(data)
			done <- result{err: fail("larger than 64 KiB: not an age identity")}
		default:
			done <- result{data: data}
		}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
	}
	mu.Lock()
	canceled = true
	f := opened
	mu.Unlock()
	if f != nil {
		// A pipe's read waits in the poller: a past deadline ends it. A
		// file the poller does not hold reads without waiting anyway.
		f.SetReadDeadline(time.Now())
	} else if st.Mode()&fs.ModeNamedPipe != 0 {
		wakeFIFO(path, st)
	}
	return nil, fmt.Errorf("--age-key-file %s: %w", path, ctx.Err())
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "special file"
}

// unwrapPath drops the operation and path of a *fs.PathError: the message
// names the path once, itself.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
