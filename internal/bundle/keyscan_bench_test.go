package bundle_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// BenchmarkKeyScan archives the repo-seeds tree at $KEYSCAN_ROOT (skipped
// when unset) with the deep scan in $KEYSCAN_MODE: reopen (the default, the
// product's), or, built with -tags keyscanbench, tee or plain (no deep
// scan). $KEYSCAN_ALLOW is a comma-separated
// allow list; $KEYSCAN_TAR=1 times WriteSeedsTar (no zstd) instead of
// WriteSeeds. bench/keyscan.sh runs it; these variables are read only here.
func BenchmarkKeyScan(b *testing.B) {
	root := os.Getenv("KEYSCAN_ROOT")
	if root == "" {
		b.Skip("KEYSCAN_ROOT is not set: run bench/keyscan.sh")
	}
	defer setKeyScanMode(os.Getenv("KEYSCAN_MODE"))()
	var allow []string
	if a := os.Getenv("KEYSCAN_ALLOW"); a != "" {
		allow = strings.Split(a, ",")
	}
	write := bundle.WriteSeeds
	if os.Getenv("KEYSCAN_TAR") == "1" {
		write = bundle.WriteSeedsTar
	}
	var in int64
	for b.Loop() {
		cw := &counter{}
		probs, err := write(cw, root, bundle.SeedsOptions{
			Mtime: time.Unix(0, 0), AllowKeys: allow,
			Progress: func(n int64) { in = n },
		})
		if err != nil || len(probs) > 0 {
			b.Fatalf("%v\n%s", err, render(probs))
		}
	}
	b.SetBytes(in)
}
