package bundle_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// mkTree creates files (path -> content, mode 0o644 unless the path is in
// modes), directories (paths ending in "/") and symlinks (path -> "@target")
// under a new temporary root.
func mkTree(t *testing.T, files map[string]string, modes map[string]os.FileMode) string {
	t.Helper()
	root := t.TempDir()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		content := files[p]
		var err error
		switch {
		case p[len(p)-1] == '/':
			err = os.MkdirAll(full, 0o755)
		case len(content) > 0 && content[0] == '@':
			err = os.Symlink(content[1:], full)
		default:
			mode, ok := modes[p]
			if !ok {
				mode = 0o644
			}
			if err = os.WriteFile(full, []byte(content), mode); err == nil {
				err = os.Chmod(full, mode)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type tarEntry struct {
	name string
	typ  byte
	mode int64
	link string
	body string
}

// seedsMtime is the mtime docs/bundle.md gives a seeds entry: the fixed
// mtime for a directory; for a file or symlink, the first four bytes of
// the SHA-256 of its content (its bytes, its target), big-endian, shifted
// right by two, in seconds since 1970.
func seedsMtime(base time.Time, h *tar.Header, body []byte) time.Time {
	if h.Typeflag == tar.TypeDir {
		return base
	}
	if h.Typeflag == tar.TypeSymlink {
		body = []byte(h.Linkname)
	}
	sum := sha256.Sum256(body)
	return time.Unix(int64(binary.BigEndian.Uint32(sum[:4])>>2), 0)
}

func readTar(t *testing.T, r io.Reader, mtime time.Time) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		// A zero mtime reads an archive of another writer: its mtimes are
		// not checked.
		if want := seedsMtime(mtime, h, body); !mtime.IsZero() && !h.ModTime.Equal(want) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v (want %v) uid %d gid %d", h.Name, h.ModTime, want, h.Uid, h.Gid)
		}
		out = append(out, tarEntry{h.Name, h.Typeflag, h.Mode, h.Linkname, string(body)})
	}
}

// TestWriteSeedsTree: the tree goes into the archive in name order, with
// its modes and relative symlinks; Progress sees the running byte count,
// TarHash and WriteSeedsTar the same uncompressed stream.
func TestWriteSeedsTree(t *testing.T) {
	root := mkTree(t, map[string]string{
		"openclaw/README.md":      "hello\n",
		"openclaw/bin/run":        "#!/bin/sh\n",
		"openclaw/docs/":          "",
		"openclaw/link":           "@README.md",
		"openclaw/bin/up":         "@../README.md",
		"openclaw/bin/here":       "@.",
		"nix/keys.md":             "set AGE-SECRET-KEY-1... in the secret\n",
		"openclaw/bin/dotdot-top": "@./../link",
	}, map[string]os.FileMode{"openclaw/bin/run": 0o755})
	mtime := time.Unix(1700000000, 0)

	var compressed, hashed bytes.Buffer
	var progress []int64
	probs, err := bundle.WriteSeeds(&compressed, root, bundle.SeedsOptions{
		Mtime:       mtime,
		Concurrency: 1,
		Progress:    func(n int64) { progress = append(progress, n) },
		TarHash:     &hashed,
	})
	if err != nil || len(probs) > 0 {
		t.Fatalf("WriteSeeds: %v\n%s", err, render(probs))
	}

	zr, err := zstd.NewReader(bytes.NewReader(compressed.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want := []tarEntry{
		{"nix/", tar.TypeDir, 0o755, "", ""},
		{"nix/keys.md", tar.TypeReg, 0o644, "", "set AGE-SECRET-KEY-1... in the secret\n"},
		{"openclaw/", tar.TypeDir, 0o755, "", ""},
		{"openclaw/README.md", tar.TypeReg, 0o644, "", "hello\n"},
		{"openclaw/bin/", tar.TypeDir, 0o755, "", ""},
		{"openclaw/bin/dotdot-top", tar.TypeSymlink, 0o777, "./../link", ""},
		{"openclaw/bin/here", tar.TypeSymlink, 0o777, ".", ""},
		{"openclaw/bin/run", tar.TypeReg, 0o755, "", "#!/bin/sh\n"},
		{"openclaw/bin/up", tar.TypeSymlink, 0o777, "../README.md", ""},
		{"openclaw/docs/", tar.TypeDir, 0o755, "", ""},
		{"openclaw/link", tar.TypeSymlink, 0o777, "README.md", ""},
	}
	if got := readTar(t, bytes.NewReader(plain), mtime); !slices.Equal(got, want) {
		t.Errorf("archive:\n got  %+v\n want %+v", got, want)
	}
	// A complete tar ends with two zero blocks; strict readers need them.
	if len(plain)%512 != 0 || !bytes.HasSuffix(plain, make([]byte, 1024)) {
		t.Errorf("the tar stream (%d bytes) does not end with the end-of-archive blocks", len(plain))
	}
	if !bytes.Equal(hashed.Bytes(), plain) {
		t.Error("TarHash did not receive the uncompressed stream")
	}
	var direct bytes.Buffer
	if probs, err := bundle.WriteSeedsTar(&direct, root, bundle.SeedsOptions{Mtime: mtime}); err != nil || len(probs) > 0 {
		t.Fatalf("WriteSeedsTar: %v\n%s", err, render(probs))
	}
	if !bytes.Equal(direct.Bytes(), plain) {
		t.Error("WriteSeedsTar differs from the stream WriteSeeds compressed")
	}
	// Files in name order: nix/keys.md, README.md, bin/run.
	n1, n2, n3 := int64(len("set AGE-SECRET-KEY-1... in the secret\n")), int64(len("hello\n")), int64(len("#!/bin/sh\n"))
	if w := []int64{n1, n1 + n2, n1 + n2 + n3}; !slices.Equal(progress, w) {
		t.Errorf("Progress saw %v, want %v", progress, w)
	}
	if st, probs := bundle.VerifySeeds(bytes.NewReader(compressed.Bytes()), bundle.SeedsLimits); len(probs) > 0 || st.Entries != len(want) {
		t.Errorf("VerifySeeds: %+v\n%s", st, render(probs))
	}
}

// TestWriteSeedsRefuses: each problem names the path on disk, and the
// writers report a bad root without writing.
func TestWriteSeedsRefuses(t *testing.T) {
	k := newKey(t)
	identity := string(k.file)
	cases := []struct {
		name  string
		files map[string]string
		allow []string
		want  string // "": no problem
	}{
		{"absolute symlink", map[string]string{"a/etc": "@/etc"}, nil, "a/etc: is a symlink to the absolute path \"/etc\""},
		{"symlink out of the top", map[string]string{"up": "@../x"}, nil, "up: is a symlink to \"../x\", outside repo-seeds"},
		{"symlink to the parent of the top", map[string]string{"up": "@.."}, nil, "outside repo-seeds"},
		{"symlink two levels out", map[string]string{"a/up": "@../../x"}, nil, "outside repo-seeds"},
		{"dot-dot after a name", map[string]string{"a/l": "@b/../c"}, nil, "a '..' after a directory name"},
		{"dot-dot after a name at the end", map[string]string{"a/l": "@b/.."}, nil, "a '..' after a directory name"},
		{"dot-dot after dot is not after a name", map[string]string{"a/l": "@./../b"}, nil, ""},
		{"dot-dot after an empty segment", map[string]string{"a/b/l": "@..//../c"}, nil, ""},
		{"key", map[string]string{"t/id.txt": identity}, nil, "t/id.txt: holds an age identity"},
		{"key in an allowed directory", map[string]string{"t/fixtures/id.txt": identity}, []string{" t/fixtures/ "}, ""},
		{"key allowed by a glob", map[string]string{"t/id.txt": identity}, []string{"t/*.txt"}, ""},
		{"blank allow entries allow nothing", map[string]string{"t/id.txt": identity}, []string{"", " ", "/"}, "holds an age identity"},
		{"allow of another directory", map[string]string{"t/id.txt": identity}, []string{"u"}, "holds an age identity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := mkTree(t, tc.files, nil)
			probs, err := bundle.WriteSeeds(io.Discard, root, bundle.SeedsOptions{AllowKeys: tc.allow})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(probs) > 0 {
					t.Fatalf("problems:\n%s", render(probs))
				}
				return
			}
			mentions(t, probs, root+string(filepath.Separator))
			mentions(t, probs, tc.want)
		})
	}

	t.Run("fifo and socket", func(t *testing.T) {
		root := t.TempDir()
		if err := mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		l, err := net.Listen("unix", filepath.Join(root, "sock"))
		if err != nil {
			t.Skipf("unix socket: %v", err) // a TMPDIR too long for a socket path
		}
		defer l.Close()
		probs, err := bundle.WriteSeeds(io.Discard, root, bundle.SeedsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mentions(t, probs, filepath.Join(root, "pipe")+": is a fifo")
		mentions(t, probs, filepath.Join(root, "sock")+": is a socket")
	})

	t.Run("devices", func(t *testing.T) {
		root := t.TempDir()
		for _, d := range []struct {
			name string
			mode uint32
		}{{"tty", sIFCHR}, {"disk", sIFBLK}} {
			if err := mknod(filepath.Join(root, d.name), d.mode|0o600, 1<<8|3); err != nil {
				t.Skipf("mknod: %v (needs CAP_MKNOD)", err)
			}
		}
		probs, err := bundle.WriteSeeds(io.Discard, root, bundle.SeedsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mentions(t, probs, filepath.Join(root, "tty")+": is a character device:")
		mentions(t, probs, filepath.Join(root, "disk")+": is a device:")
	})

	file := filepath.Join(t.TempDir(), "seeds.tar")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, root := range []struct{ path, want string }{
		{missing, missing + ": cannot read repo-seeds directory: no such file or directory"},
		{file, file + ": repo-seeds is not a directory"},
	} {
		writers := map[string]func(io.Writer, string, bundle.SeedsOptions) (problem.List, error){
			"WriteSeeds":    bundle.WriteSeeds,
			"WriteSeedsTar": bundle.WriteSeedsTar,
		}
		for name, write := range writers {
			t.Run(fmt.Sprintf("%s %s", name, filepath.Base(root.path)), func(t *testing.T) {
				var out bytes.Buffer
				probs, err := write(&out, root.path, bundle.SeedsOptions{})
				if err != nil {
					t.Fatal(err)
				}
				mentions(t, probs, root.want)
				if out.Len() != 0 {
					t.Errorf("wrote %d bytes for a bad root", out.Len())
				}
			})
		}
	}
}

// TestVerifySecretsUnplanned: a secret the plan does not list is reported,
// unless it is already reported as forbidden.
func TestVerifySecretsUnplanned(t *testing.T) {
	k := newKey(t)
	data := tarZst(t, goodEntries(t, k, "a.age", "extra.age", "token.age"))
	_, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{
		Expected: []string{"a.age"},
		Forbidden: func(n string) string {
			if n == "token.age" {
				return "another instance's token"
			}
			return ""
		},
	})
	mentions(t, probs, "secrets/extra.age: is in the bundle but not in the plan")
	mentions(t, probs, "secrets/token.age: must not be in this bundle")
	if n := len(probs.Errors()); n != 2 {
		t.Fatalf("want 2 problems, got %d:\n%s", n, render(probs))
	}
}

// growingWriter keeps what it is written and calls grow once, on the first
// write after the first tar block (the header of the tree's only file).
type growingWriter struct {
	bytes.Buffer
	grow func()
}

func (w *growingWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if w.grow != nil && w.Len() > 512 {
		w.grow()
		w.grow = nil
	}
	return n, err
}

// TestWriteSeedsFileGrows: a file that grows while it is archived goes in
// at the size its header gives (its first bytes), so the archive stays
// whole; only a file that shrinks is an error.
func TestWriteSeedsFileGrows(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16) // more than one read buffer
	root := mkTree(t, map[string]string{"big": string(content)}, nil)
	w := &growingWriter{grow: func() {
		f, err := os.OpenFile(filepath.Join(root, "big"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(bytes.Repeat([]byte("+"), 4<<10)); err != nil {
			t.Fatal(err)
		}
	}}
	probs, err := bundle.WriteSeedsTar(w, root, bundle.SeedsOptions{Mtime: time.Unix(0, 0).UTC()})
	if err != nil || len(probs) > 0 {
		t.Fatalf("WriteSeedsTar: %v\n%s", err, render(probs))
	}
	if w.grow != nil {
		t.Fatal("the file was not grown while archived: the test proves nothing")
	}
	got := readTar(t, &w.Buffer, time.Unix(0, 0).UTC())
	if len(got) != 1 || got[0].name != "big" || got[0].body != string(content) {
		t.Fatalf("archive holds %d entries; want big with its first %d bytes", len(got), len(content))
	}
}
