package bucket_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
)

// tree lists every path below dir with its kind and content, to show that
// nothing there changed.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + e.Type().String()
		if e.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func dirPut(b bucket.Dir, key string, data []byte) error {
	_, err := b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data))
	return err
}

// refused checks that err is the refusal of a symlink at path.
func refused(t *testing.T, what string, err error, path string) {
	t.Helper()
	if !errors.Is(err, bucket.ErrSymlink) {
		t.Fatalf("%s: got %v, want a refused symlink", what, err)
	}
	if msg := err.Error(); !strings.Contains(msg, path+" is a symlink, not followed") {
		t.Fatalf("%s: %q does not say that %s is a symlink, not followed", what, msg, path)
	}
}

// every runs each Dir operation on key and checks that all refuse the
// symlink at path.
func every(t *testing.T, b bucket.Dir, key, path string) {
	t.Helper()
	ctx := context.Background()
	refused(t, "put "+key, dirPut(b, key, []byte("AGE-SECRET-KEY-1NEW")), path)
	_, _, err := b.Get(ctx, key, "")
	refused(t, "get "+key, err, path)
	_, err = b.Head(ctx, key, "")
	refused(t, "head "+key, err, path)
	_, err = b.Copy(ctx, key, "", "ok/copy")
	refused(t, "copy from "+key, err, path)
	_, err = b.Copy(ctx, "ok/src", "", key)
	refused(t, "copy to "+key, err, path)
	refused(t, "delete "+key, b.Delete(ctx, key, ""), path)
}

func dirSetup(t *testing.T) (base, dir, outside string, b bucket.Dir) {
	base = t.TempDir()
	dir, outside = filepath.Join(base, "out"), filepath.Join(base, "elsewhere")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secrets.tar.zst"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	b = bucket.Dir(dir)
	if err := dirPut(b, "ok/src", []byte("source")); err != nil {
		t.Fatal(err)
	}
	return base, dir, outside, b
}

// DIR/bootstrap -> ../elsewhere: the key must not land in elsewhere.
func TestDirRefusesSymlinkedDirOutside(t *testing.T) {
	_, dir, outside, b := dirSetup(t)
	link := filepath.Join(dir, "bootstrap")
	if err := os.Symlink("../elsewhere", link); err != nil {
		t.Fatal(err)
	}
	before := tree(t, outside)
	every(t, b, "bootstrap/secrets.tar.zst", link)
	every(t, b, "bootstrap/new/secrets.tar.zst", link)
	if after := tree(t, outside); after != before {
		t.Fatalf("outside changed:\n%s\nwas:\n%s", after, before)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Fatalf("the symlink went: %v", err)
	}
}

// DIR/a/secrets.tar.zst -> ../../elsewhere/secrets.tar.zst: neither read
// nor overwritten nor removed.
func TestDirRefusesSymlinkedFile(t *testing.T) {
	_, dir, outside, b := dirSetup(t)
	if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "a", "secrets.tar.zst")
	if err := os.Symlink("../../elsewhere/secrets.tar.zst", link); err != nil {
		t.Fatal(err)
	}
	// Absolute targets too.
	abs := filepath.Join(dir, "a", "abs")
	if err := os.Symlink(filepath.Join(outside, "secrets.tar.zst"), abs); err != nil {
		t.Fatal(err)
	}
	before := tree(t, outside)
	every(t, b, "a/secrets.tar.zst", link)
	every(t, b, "a/abs", abs)
	if after := tree(t, outside); after != before {
		t.Fatalf("outside changed:\n%s\nwas:\n%s", after, before)
	}
	for _, l := range []string{link, abs} {
		if st, err := os.Lstat(l); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("%s is no longer the symlink: %v", l, err)
		}
	}
}

// A symlink to a directory or file inside DIR is refused as well: one rule,
// no symlink below DIR is followed.
func TestDirRefusesSymlinkInside(t *testing.T) {
	base, dir, _, b := dirSetup(t)
	if err := dirPut(b, "real/k", []byte("real")); err != nil {
		t.Fatal(err)
	}
	dlink, flink := filepath.Join(dir, "alias"), filepath.Join(dir, "real", "alias")
	if err := os.Symlink("real", dlink); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("k", flink); err != nil {
		t.Fatal(err)
	}
	before := tree(t, base)
	every(t, b, "alias/k", dlink)
	every(t, b, "alias/new", dlink)
	every(t, b, "real/alias", flink)
	if after := tree(t, base); after != before {
		t.Fatalf("the tree changed:\n%s\nwas:\n%s", after, before)
	}
}

// DIR itself may be a symlink: the user named it.
func TestDirItselfMayBeSymlink(t *testing.T) {
	base := t.TempDir()
	real, link := filepath.Join(base, "real"), filepath.Join(base, "link")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}
	b := bucket.Dir(link)
	if err := dirPut(b, "p/secrets.tar.zst", []byte("key")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(real, "p", "secrets.tar.zst"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("written to the symlink's target: %v, mode %v", err, st)
	}
	rc, _, err := b.Get(context.Background(), "p/secrets.tar.zst", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "key" {
		t.Fatalf("read %q", got)
	}
}

// Put leaves no temporary file behind, after success or refusal, and
// creates the directories it needs.
func TestDirPutLeavesNoTemp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	b := bucket.Dir(dir)
	if err := dirPut(b, "a/b/c", []byte("x")); err != nil {
		t.Fatal(err)
	}
	data := []byte("y")
	if _, err := b.Put(context.Background(), "a/b/d", bytes.NewReader(data), 1, sha256.Sum256([]byte("z"))); err == nil {
		t.Fatal("wrong checksum accepted")
	}
	if got := tree(t, dir); got != ". d---------\na d---------\na/b d---------\na/b/c ---------- x" {
		t.Fatalf("tree:\n%s", got)
	}
}
