package bucket_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
)

func kindErr(k bucket.Kind) error {
	return fmt.Errorf("read: %w", &bucket.Error{Op: "get", Bucket: "b", Key: "k", Kind: k, Err: errors.New("cause")})
}

// What stops a run (exit status 3) is told apart from what is wrong with
// the content (a problem): a missing key or a bad checksum is a finding.
func TestIsOperational(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), true},
		{"deadline", context.DeadlineExceeded, true},
		{"unreachable", kindErr(bucket.Unreachable), true},
		{"access denied", kindErr(bucket.AccessDenied), true},
		{"no such bucket", kindErr(bucket.NoSuchBucket), true},
		{"not found", kindErr(bucket.NotFound), false},
		{"checksum mismatch", kindErr(bucket.ChecksumMismatch), false},
		{"other", kindErr(bucket.Other), false},
	} {
		if got := bucket.IsOperational(tc.err); got != tc.want {
			t.Errorf("%s: IsOperational = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A read is tried again only when the store could not be reached, and at
// most three times in all; a refusal, a finding or a canceled run is final.
func TestRetryRead(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		err     error
		attempt int
		want    bool
	}{
		{"nil", ctx, nil, 1, false},
		{"finding", ctx, kindErr(bucket.NotFound), 1, false},
		{"access denied", ctx, kindErr(bucket.AccessDenied), 1, false},
		{"no such bucket", ctx, kindErr(bucket.NoSuchBucket), 1, false},
		{"run canceled", canceled, kindErr(bucket.Unreachable), 1, false},
		{"third attempt", ctx, kindErr(bucket.Unreachable), 3, false},
		{"unreachable", ctx, kindErr(bucket.Unreachable), 1, true},
		{"unreachable again", ctx, kindErr(bucket.Unreachable), 2, true},
	} {
		if got := bucket.RetryRead(tc.ctx, tc.err, tc.attempt); got != tc.want {
			t.Errorf("%s: RetryRead(attempt %d) = %v, want %v", tc.name, tc.attempt, got, tc.want)
		}
	}
}
