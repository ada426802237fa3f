package install

import "github.com/openclaw/clawdinator-bundle/internal/bucket"

// FailSwapAt makes swap number at (0: repo-seeds, 1: the key, 2: the
// secrets directory) fail until restore is called.
func FailSwapAt(at int) (restore func()) {
	failSwap = func(i int) bool { return i == at }
	return func() { failSwap = nil }
}

// dummyBucket is a non-nil bucket for option checks; it is never called.
type dummyBucket struct{ bucket.Bucket }
