//go:build unix

package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const fileKey = "# created: now\nAGE-SECRET-KEY-1FILE\n"

// safety is a context that ends a test that would otherwise hang; no test
// waits for it to pass.
func safety(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantUsage checks that err is a *UsageError naming --age-key-file and path,
// saying want, and quoting no key.
func wantUsage(t *testing.T, err error, path, want string) {
	t.Helper()
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("got %T %v, want a *UsageError", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "--age-key-file "+path+": ") || !strings.Contains(msg, want) {
		t.Fatalf("error %q, want --age-key-file %s: ...%s...", msg, path, want)
	}
	if strings.Contains(msg, "AGE-SECRET-KEY") {
		t.Fatalf("error quotes the file: %q", msg)
	}
}

func TestReadKeyFileRegular(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(p, []byte(fileKey), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadKeyFile(safety(t), p)
	if err != nil || string(got) != fileKey {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestReadKeyFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	line := "AGE-SECRET-KEY-1" + strings.Repeat("Q", 47) + "\n" // 64 bytes
	at := filepath.Join(dir, "at-limit")
	if err := os.WriteFile(at, []byte(strings.Repeat(line, 1024)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadKeyFile(safety(t), at); err != nil || len(got) != 64<<10 {
		t.Fatalf("64 KiB: got %d bytes, %v", len(got), err)
	}
	over := filepath.Join(dir, "over")
	if err := os.WriteFile(over, []byte(strings.Repeat(line, 1040)), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadKeyFile(safety(t), over)
	if got != nil {
		t.Fatalf("65 KiB file returned %d bytes", len(got))
	}
	wantUsage(t, err, over, "larger than 64 KiB: not an age identity")
}

func TestReadKeyFileRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadKeyFile(safety(t), dir)
	wantUsage(t, err, dir, "is a directory")
}

func TestReadKeyFileRefusesMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope")
	_, err := ReadKeyFile(safety(t), p)
	wantUsage(t, err, p, "no such file or directory")
}

// Character devices other than stdin are refused before they are opened,
// so at once: /dev/zero would otherwise be read without end.
func TestReadKeyFileRefusesDevices(t *testing.T) {
	for _, p := range []string{"/dev/zero", "/dev/urandom", "/dev/null"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s: %v", p, err)
		}
		ctx := safety(t)
		_, err := ReadKeyFile(ctx, p)
		if ctx.Err() != nil {
			t.Fatalf("%s: the safety deadline passed", p)
		}
		wantUsage(t, err, p, "is a character device")
	}
}

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// writeFIFO writes data to the FIFO at p once a reader opens it.
func writeFIFO(t *testing.T, p string, data []byte) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Errorf("open the FIFO to write: %v", err)
			return
		}
		w.Write(data) // the reader may stop reading: EPIPE
		w.Close()
	}()
	return &wg
}

func TestReadKeyFileFIFOWithWriter(t *testing.T) {
	p := mkfifo(t)
	wg := writeFIFO(t, p, []byte(fileKey))
	got, err := ReadKeyFile(safety(t), p)
	wg.Wait()
	if err != nil || string(got) != fileKey {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestReadKeyFileFIFOTooLarge(t *testing.T) {
	p := mkfifo(t)
	wg := writeFIFO(t, p, []byte(strings.Repeat("AGE-SECRET-KEY-1X\n", 4000)))
	_, err := ReadKeyFile(safety(t), p)
	wg.Wait()
	wantUsage(t, err, p, "larger than 64 KiB")
}

// A pipe passed as /dev/fd/N, as `--age-key-file <(cat key)` does.
func TestReadKeyFileProcessSubstitution(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := fmt.Sprintf("/dev/fd/%d", r.Fd())
	if _, err := os.Stat(p); err != nil {
		w.Close()
		t.Skipf("%s: %v", p, err)
	}
	go func() {
		w.WriteString(fileKey)
		w.Close()
	}()
	got, err := ReadKeyFile(safety(t), p)
	if err != nil || string(got) != fileKey {
		t.Fatalf("got %q, %v", got, err)
	}
}

// reached is a context that reports when ReadKeyFile starts to wait on it.
type reached struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *reached) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// A FIFO nobody writes to: ReadKeyFile waits until the context is canceled
// (as SIGINT or SIGTERM cancel the CLI's), then returns at once.
func TestReadKeyFileFIFOCanceled(t *testing.T) {
	p := mkfifo(t)
	parent, cancel := context.WithCancel(safety(t))
	ctx := &reached{Context: parent, waiting: make(chan struct{})}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := ReadKeyFile(ctx, p)
		done <- result{data, err}
	}()
	select {
	case <-ctx.waiting:
	case r := <-done:
		t.Fatalf("returned before the cancel: %q, %v", r.data, r.err)
	}
	cancel()
	r := <-done
	if !errors.Is(r.err, context.Canceled) || r.data != nil {
		t.Fatalf("got %q, %v; want context.Canceled", r.data, r.err)
	}
	if errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatal("the safety deadline ended it, not the cancel")
	}
	if !strings.Contains(r.err.Error(), "--age-key-file "+p) {
		t.Fatalf("error %q does not name the file", r.err)
	}
}

func TestFromArgsContextCanceledKeyFile(t *testing.T) {
	p := mkfifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := FromArgsContext(ctx, Assemble, []string{"--age-key-file", p}, env(nil), &strings.Builder{})
	var ue *UsageError
	if !errors.Is(err, context.Canceled) || errors.As(err, &ue) {
		t.Fatalf("got %T %v, want context.Canceled and no usage error", err, err)
	}
}

func TestFromArgsKeyFileRefusals(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 65<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{big: "larger than 64 KiB", dir: "is a directory", "/dev/zero": "is a character device"} {
		_, err := FromArgs(Assemble, []string{"--age-key-file", p}, env(nil), &strings.Builder{})
		wantUsage(t, err, p, want)
	}
}

// /dev/stdin is read whether stdin is a pipe or a file: the test binary
// runs itself with each.
func TestReadKeyFileStdin(t *testing.T) {
	if os.Getenv("CONFIG_TEST_READ_STDIN") == "1" {
		data, err := ReadKeyFile(safety(t), "/dev/stdin")
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.Write(data)
		return
	}
	if _, err := os.Stat("/dev/stdin"); err != nil {
		t.Skipf("/dev/stdin: %v", err)
	}
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(fileKey), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for name, stdin := range map[string]io.Reader{"pipe": strings.NewReader(fileKey), "file": f, "character device": null} {
		cmd := exec.CommandContext(safety(t), os.Args[0], "-test.run=^TestReadKeyFileStdin$")
		cmd.Env = append(os.Environ(), "CONFIG_TEST_READ_STDIN=1")
		cmd.Stdin = stdin
		out, err := cmd.Output()
		want := fileKey
		if stdin == null {
			want = "PASS" // /dev/null read: nothing, then the test binary's verdict
		}
		if err != nil || !strings.HasPrefix(string(out), want) {
			t.Errorf("stdin a %s: %v, output %q", name, err, out)
		}
	}
}

// readers counts the goroutines of ReadKeyFile whose stack also holds
// frame (any goroutine of ReadKeyFile when frame is "").
func readers(frame string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "config.ReadKeyFile.func") || !strings.Contains(g, frame) {
			continue
		}
		// In the kernel, not on its way there.
		if head, _, _ := strings.Cut(g, "\n"); frame == "" || strings.Contains(head, "[syscall") || strings.Contains(head, "[IO wait") {
			n++
		}
	}
	return n
}

// waitReaders waits until at most want goroutines of ReadKeyFile hold
// frame, or fails the test after a few seconds.
func waitReaders(t *testing.T, frame string, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for readers(frame) > want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines of ReadKeyFile, want %d", what, readers(frame), want)
		}
		runtime.Gosched()
	}
}

// After a cancel, the goroutine doing the open or the read ends and
// nothing of the FIFO stays open: a pending open is woken (and the writer
// that woke it closed), a pending read stopped.
func TestReadKeyFileCanceledLeavesNothing(t *testing.T) {
	t.Run("pending open", func(t *testing.T) {
		p := mkfifo(t)
		before := readers("")
		inOpen := readers("os.Open")
		ctx, cancel := context.WithCancel(safety(t))
		rctx := &reached{Context: ctx, waiting: make(chan struct{})}
		done := make(chan error, 1)
		go func() {
			_, err := ReadKeyFile(rctx, p)
			done <- err
		}()
		<-rctx.waiting
		// Cancel only once the open waits in the kernel: before that, no
		// reader is there to wake (and the open then waits until a writer
		// comes: see docs/mutants.md, "Found on the way").
		deadline := time.Now().Add(5 * time.Second)
		for readers("os.Open") <= inOpen {
			if time.Now().After(deadline) {
				t.Fatal("ReadKeyFile never opened the FIFO")
			}
			runtime.Gosched()
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		waitReaders(t, "", before, "after the cancel")
		// No writer left open: a non-blocking read sees end of file, not
		// EAGAIN.
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		if n, err := syscall.Read(fd, make([]byte, 1)); n != 0 || err != nil {
			t.Fatalf("read %d bytes, %v: a writer of the FIFO is still open", n, err)
		}
	})
	t.Run("pending read", func(t *testing.T) {
		p := mkfifo(t)
		before := readers("")
		inRead := readers("io.ReadAll")
		ctx, cancel := context.WithCancel(safety(t))
		done := make(chan error, 1)
		go func() {
			_, err := ReadKeyFile(ctx, p)
			done <- err
		}()
		w, err := os.OpenFile(p, os.O_WRONLY, 0) // returns once ReadKeyFile opened it
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.WriteString("AGE"); err != nil {
			t.Fatal(err)
		}
		// Cancel only once the read waits for more: the file is opened.
		deadline := time.Now().Add(5 * time.Second)
		for readers("io.ReadAll") <= inRead {
			if time.Now().After(deadline) {
				t.Fatal("ReadKeyFile never read")
			}
			runtime.Gosched()
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		// The writer is still open: only the read deadline ends the read.
		waitReaders(t, "", before, "after the cancel, with a writer still open")
	})
}

// Special files other than FIFOs and stdin are refused unopened, each named
// for what it is.
func TestReadKeyFileRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	defer l.Close()
	_, err = ReadKeyFile(safety(t), sock)
	wantUsage(t, err, sock, "is a socket, not a file")

	blk := filepath.Join(dir, "blk")
	if err := syscall.Mknod(blk, syscall.S_IFBLK|0o600, 7<<8); err != nil {
		t.Skipf("mknod a block device (needs CAP_MKNOD): %v", err)
	}
	_, err = ReadKeyFile(safety(t), blk)
	wantUsage(t, err, blk, "is a block device, not a file")
}

// kind names the file types ReadKeyFile refuses by default; a stat that
// follows symlinks never returns a symlink, and Linux has no irregular
// files, so those two are checked here alone.
func TestKind(t *testing.T) {
	for m, want := range map[fs.FileMode]string{
		fs.ModeSocket:    "socket",
		fs.ModeSymlink:   "symlink",
		fs.ModeIrregular: "irregular file",
		0:                "special file",
	} {
		if got := kind(m); got != want {
			t.Errorf("kind(%v) = %q, want %q", m, got, want)
		}
	}
}
