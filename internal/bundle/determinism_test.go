package bundle_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// writeTree makes a repo-seeds-like tree of about size bytes: many small
// text files, some large compressible ones and some random (incompressible)
// data, so the encoder's blocks and goroutines all get work. The content is
// fixed by seed.
func writeTree(t testing.TB, root string, size int64, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed)}))
	var total int64
	for i := 0; total < size; i++ {
		var data []byte
		switch i % 10 {
		case 0: // random, up to 2 MiB
			data = make([]byte, rng.IntN(2<<20))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
		case 1: // compressible, up to 1 MiB
			data = bytes.Repeat([]byte(fmt.Sprintf("line %d of a source file\n", i)), rng.IntN(40000))
		default:
			data = []byte(fmt.Sprintf("package p%d\n\nconst X = %d\n", i, rng.Uint64()))
		}
		p := filepath.Join(root, fmt.Sprintf("repo%d", i%7), fmt.Sprintf("dir%d", i%13), fmt.Sprintf("f%05d.go", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		total += int64(len(data))
	}
}

func writeSeeds(t testing.TB, root string, conc int) []byte {
	t.Helper()
	var buf bytes.Buffer
	probs, err := bundle.WriteSeeds(&buf, root, bundle.SeedsOptions{Mtime: time.Unix(1, 0), Concurrency: conc})
	if err != nil || len(probs) > 0 {
		t.Fatalf("WriteSeeds: %v\n%s", err, render(probs))
	}
	return buf.Bytes()
}

// TestWriteSeedsConcurrency: a runner's core count must not change the
// bytes, or every CI machine would upload "changed" seeds. Zero or less
// means one goroutine per core, and is no error.
func TestWriteSeedsConcurrency(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, 20<<20, 1)
	want := writeSeeds(t, root, 1)
	for _, c := range []int{1, 2, 8, 0, -1} {
		got := writeSeeds(t, root, c)
		if !bytes.Equal(got, want) {
			t.Errorf("concurrency %d: %d bytes sha256 %x, concurrency 1: %d bytes sha256 %x", c, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
		}
	}
}
