package bucket_test

import (
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
