package install

import "github.com/openclaw/clawdinator-bundle/internal/bucket"

// dummyBucket is a non-nil bucket for option checks; it is never called.
type dummyBucket struct{ bucket.Bucket }
