package bundle_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// TestWriteSeedsFindsKeys places key material where a streaming scanner
// could miss it: across the 256 KiB read boundary, at the very start and
// end of a file, in a tiny file, deep in a large one.
func TestWriteSeedsFindsKeys(t *testing.T) {
	k := newKey(t)
	identity := strings.TrimSpace(string(k.file[bytes.LastIndexByte(k.file[:len(k.file)-1], '\n')+1:]))
	pem := "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n"
	filler := func(n int) string { return strings.Repeat("z", n) }
	const chunk = 256 << 10
	cases := map[string]string{
		"straddle-age":   filler(chunk-30) + identity + "\n",
		"straddle-pem":   filler(chunk-12) + pem,
		"straddle-2":     filler(2*chunk-40) + identity,
		"start":          identity + filler(chunk),
		"end":            filler(3*chunk+5) + pem,
		"tiny":           identity,
		"after-newlines": strings.Repeat("\n", 1000) + "# created: 2024\n" + identity,
		"ppk-v2":         "PuTTY-User-Key-File-2: ssh-rsa\r\nEncryption: none\r\n",
		"ppk-v3":         filler(chunk-20) + "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "f"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			probs, err := bundle.WriteSeeds(io.Discard, root, bundle.SeedsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mentions(t, probs, "must not carry keys")
		})
	}
	// Near misses that are not keys must pass. stale.bin ends with the
	// start of an identity, and its first read left identity characters
	// just past where its last, short read ends: only the file's own bytes
	// may complete a match.
	root := t.TempDir()
	for name, content := range map[string]string{
		"doc.md":    "set AGE-SECRET-KEY-1... in the secret\n-----BEGIN PUBLIC KEY-----\nthe PuTTY-User-Key-File-N header\n",
		"key.pub":   "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"PuTTY-User-Key-File-2\"\n",
		"big.bin":   filler(3*chunk) + "PRIVATE KEY-----",
		"stale.bin": filler(18) + strings.Repeat("Q", 60) + filler(chunk-78) + "xxAGE-SECRET-KEY-1",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	probs, err := bundle.WriteSeeds(io.Discard, root, bundle.SeedsOptions{})
	if err != nil || len(probs) > 0 {
		t.Fatalf("near misses refused (%v):\n%s", err, render(probs))
	}
}

// TestWriteSecretsLayout reads WriteSecrets' output back with archive/tar:
// the exact headers are the host contract.
func TestWriteSecretsLayout(t *testing.T) {
	k := newKey(t)
	mtime := time.Unix(1234567890, 0)
	var buf bytes.Buffer
	secrets := []bundle.SecretFile{{Name: "b.age", Data: []byte("B")}, {Name: "a.age", Data: []byte("A")}}
	if err := bundle.WriteSecrets(&buf, k.file, nil, secrets, mtime); err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	want := []struct {
		name string
		typ  byte
		mode int64
		body string
	}{
		{bundle.KeyEntry, tar.TypeReg, 0o400, string(k.file)},
		{"secrets/", tar.TypeDir, 0o700, ""},
		{"secrets/a.age", tar.TypeReg, 0o400, "A"},
		{"secrets/b.age", tar.TypeReg, 0o400, "B"},
	}
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d entries, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("extra entry %q", h.Name)
		}
		w := want[i]
		body, _ := io.ReadAll(tr)
		if h.Name != w.name || h.Typeflag != w.typ || h.Mode != w.mode || string(body) != w.body ||
			h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(mtime) {
			t.Errorf("entry %d = %q type %c mode %o uid %d gid %d %q/%q mtime %v", i, h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime)
		}
	}

	dup := append(secrets, bundle.SecretFile{Name: "a.age", Data: []byte("A2")})
	if err := bundle.WriteSecrets(io.Discard, k.file, nil, dup, mtime); err == nil || !strings.Contains(err.Error(), "a.age") {
		t.Errorf("a secret listed twice: err = %v", err)
	}
}

// failingWriter refuses every write, as a full disk or a closed pipe does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWritersReportWriteErrors: an archive that could not be written is an
// error from every writer, even when the tree fits in the encoder's buffer
// and the first write happens when it is closed.
func TestWritersReportWriteErrors(t *testing.T) {
	k := newKey(t)
	root := mkTree(t, map[string]string{"a/b.txt": "small\n"}, nil)
	writers := map[string]func() error{
		"WriteSecrets": func() error {
			return bundle.WriteSecrets(failingWriter{}, k.file, nil, []bundle.SecretFile{{Name: "a.age", Data: []byte("A")}}, time.Unix(0, 0).UTC())
		},
		"WriteSeeds": func() error {
			_, err := bundle.WriteSeeds(failingWriter{}, root, bundle.SeedsOptions{Concurrency: 1})
			return err
		},
		"WriteSeedsTar": func() error {
			_, err := bundle.WriteSeedsTar(failingWriter{}, root, bundle.SeedsOptions{})
			return err
		},
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			if err := write(); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("err = %v, want the writer's error", err)
			}
		})
	}
}
