package bucket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"
)

// TestGetFirst: GetFirst reads no more than asked, from a Ranger (Dir) and
// through a plain Get alike, and refuses a length that is not positive.
func TestGetFirst(t *testing.T) {
	ctx := context.Background()
	d := Dir(t.TempDir())
	data := []byte("0123456789")
	if _, err := d.Put(ctx, "k", bytes.NewReader(data), int64(len(data)), sha256.Sum256(data)); err != nil {
		t.Fatal(err)
	}
	for _, b := range []Bucket{d, plain{d}} {
		for _, n := range []int64{1, 4, 10, 11, 100} {
			rc, _, err := GetFirst(ctx, b, "k", "", n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(got) != string(data[:min(n, int64(len(data)))]) {
				t.Errorf("%T, n=%d: %q %v", b, n, got, err)
			}
		}
		if _, _, err := GetFirst(ctx, b, "k", "", 0); err == nil {
			t.Errorf("%T: n=0 accepted", b)
		}
	}
}

// plain hides Dir's GetFirst.
type plain struct{ Bucket }
