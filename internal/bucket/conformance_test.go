package bucket_test

import (
	"fmt"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bucket/buckettest"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

func TestDirConformance(t *testing.T) {
	buckettest.Run(t, func(t *testing.T) bucket.Bucket { return bucket.Dir(t.TempDir()) })
}

func TestS3Conformance(t *testing.T) {
	srv := s3test.Start(t)
	n := 0
	buckettest.Run(t, func(t *testing.T) bucket.Bucket {
		n++
		name := "conformance-" + string(rune('a'+n))
		srv.CreateBucket(t, name)
		st := newStore(t, srv, func(c *bucket.Config) { c.Bucket = name })
		return st
	})
}

// Versioned, the versioned bucket over a directory that tests of versions
// use, keeps the same promises, with and without store checksums.
func TestVersionedConformance(t *testing.T) {
	for _, noChecksum := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoChecksum=%v", noChecksum), func(t *testing.T) {
			buckettest.Run(t, func(t *testing.T) bucket.Bucket {
				v := buckettest.NewVersioned(t.TempDir())
				v.NoChecksum = noChecksum
				return v
			})
		})
	}
}
