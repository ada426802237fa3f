package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
)

// The secrets archive holds the age identity in the clear: assemble --out
// must not leave it readable by other users.
func TestDirModes(t *testing.T) {
	d := bucket.Dir(t.TempDir())
	ctx := context.Background()
	for _, name := range []string{"secrets.tar.zst", "repo-seeds.tar.zst"} {
		data := []byte(name)
		if _, err := d.Put(ctx, "bootstrap/v1..2/"+name, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data)); err != nil {
			t.Fatalf("put %s under a prefix with '..' inside a segment: %v", name, err)
		}
	}
	for name, want := range map[string]os.FileMode{"secrets.tar.zst": 0o600, "repo-seeds.tar.zst": 0o644} {
		st, err := os.Stat(filepath.Join(string(d), "bootstrap", "v1..2", name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), want)
		}
	}
	for _, bad := range []string{"../x", "a/../b", "/abs", "a//b", "./a"} {
		if _, err := d.Put(ctx, bad, bytes.NewReader(nil), 0, sha256.Sum256(nil)); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}
