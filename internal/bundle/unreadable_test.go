package bundle_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// TestWriteSeedsUnreadable: a directory the walk cannot stat or open is a
// problem naming it, and the rest of the tree is still archived. A path
// longer than the system allows (ENAMETOOLONG, made with os.Root, which
// works relative to an open directory) is unreadable even for root, which
// a permission bit is not.
func TestWriteSeedsUnreadable(t *testing.T) {
	root := mkTree(t, map[string]string{"a/ok.txt": "fine\n"}, nil)
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seg := strings.Repeat("d", 200)
	deep := strings.Repeat(seg+"/", 24) + "leaf"
	if err := r.MkdirAll(deep, 0o755); err != nil {
		t.Skipf("cannot make a %d-byte path: %v", len(deep), err)
	}
	if err := r.WriteFile(deep+"/f", []byte("unseen\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(deep))); err == nil {
		t.Skip("this system opens paths of any length: nothing is unreadable")
	}

	mtime := time.Unix(0, 0)
	var out bytes.Buffer
	probs, err := bundle.WriteSeedsTar(&out, root, bundle.SeedsOptions{Mtime: mtime})
	if err != nil {
		t.Fatal(err)
	}
	mentions(t, probs, "cannot stat: file name too long")
	mentions(t, probs, "cannot read: file name too long")
	for _, p := range probs {
		if !strings.HasPrefix(p.File, filepath.Join(root, seg)) {
			t.Errorf("problem about %s, not the deep directory: %s", p.File, p)
		}
	}
	var names []string
	for _, e := range readTar(t, &out, mtime) {
		names = append(names, e.name)
		if strings.HasSuffix(e.name, "/f") {
			t.Errorf("archived %s from below the unreadable directory", e.name)
		}
	}
	if len(names) < 2 || names[0] != "a/" || names[1] != "a/ok.txt" {
		t.Errorf("archive starts %q, want a/ and a/ok.txt", names[:min(2, len(names))])
	}
}
