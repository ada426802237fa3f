package publish_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/faultproxy"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

// When S3 cannot be reached, or keeps failing, the run could not complete:
// Result.Err() is of kind Unreachable (exit status 3, which takes
// precedence over problems) and nothing is reported as a problem with the
// bundles: that would send an operator looking for a bad secret that is not
// there.

// s3RequireOperational checks res for an unreachable failure and no
// error-severity problem.
func s3RequireOperational(t *testing.T, what string, res *result.Result) {
	t.Helper()
	err := res.Err()
	if err == nil {
		t.Fatalf("%s: no operational error", what)
	}
	if k := bucket.Classify(err); k != bucket.Unreachable {
		t.Errorf("%s: error kind %v, want unreachable: %v", what, k, err)
	}
	// Publish may add what it could not undo; nothing may read as a
	// finding about the bundles, and verify has nothing to undo.
	for _, p := range res.Problems.Errors() {
		if what == "verify" || !strings.Contains(p.Message, "could not remove") {
			t.Errorf("%s: failure to reach S3 reported as a problem: %s", what, p)
		}
	}
	for _, in := range res.Instances {
		if in.Verified {
			t.Errorf("%s: %s verified", what, in.Instance)
		}
		if what == "publish" && in.Manifest != nil {
			t.Errorf("%s: %s: manifest written", what, in.Instance)
		}
	}
}

// s3Fast gives up after two attempts: these tests wait for retries to run
// out, and the default six would only make them slower.
func s3Fast(c *bucket.Config) { c.MaxAttempts = 2 }

func TestS3Operational(t *testing.T) {
	srv := s3test.Start(t)

	t.Run("closed port", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + l.Addr().String()
		l.Close()
		f := s3NewFixture(t)
		st := s3Open(t, srv, "no-server", s3Fast, func(c *bucket.Config) { c.Endpoint = dead })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res := publish.Publish(ctx, s3Prepare(t, f.load()), s3Options(st))
		s3RequireOperational(t, "publish", res)
		if !strings.Contains(res.Err().Error(), "connection refused") {
			t.Errorf("the error does not say why: %v", res.Err())
		}
		s3RequireOperational(t, "verify", s3Verify(t, st, f, ""))
		if ctx.Err() != nil {
			t.Fatal("gave up only at the test's deadline")
		}
	})

	// Verify mode: S3 starts failing after the manifests were read.
	for _, c := range []struct {
		name  string
		match func(*http.Request) bool
	}{
		{"verify: every secrets download fails", func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+layout.SecretsObject)
		}},
		{"verify: every HEAD fails", func(r *http.Request) bool { return r.Method == http.MethodHead }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := s3NewFixture(t)
			bkt := s3Bucket(t, srv)
			s3Publish(t, s3Open(t, srv, bkt), f)
			p, err := faultproxy.Start(srv.Endpoint, faultproxy.Config{Rules: []faultproxy.Rule{faultproxy.Always(faultproxy.InternalError, c.match)}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			via := s3Open(t, srv, bkt, s3Fast, func(c *bucket.Config) { c.Endpoint = p.URL })
			s3RequireOperational(t, "verify", s3Verify(t, via, f, f.Recipient))
			if p.Stats().InternalError == 0 {
				t.Fatal("no fault was injected")
			}
		})
	}

	// Publish: everything is uploaded and pulled back, then the check that
	// the version just verified is still current (a HEAD without a version
	// id) cannot reach S3. That is not a finding about the bundle.
	t.Run("publish: the still-current check fails", func(t *testing.T) {
		t.Parallel()
		f := s3NewFixture(t)
		bkt := s3Bucket(t, srv)
		current := func(r *http.Request) bool {
			return r.Method == http.MethodHead && r.URL.Query().Get("versionId") == ""
		}
		p, err := faultproxy.Start(srv.Endpoint, faultproxy.Config{Rules: []faultproxy.Rule{faultproxy.Always(faultproxy.InternalError, current)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		via := s3Open(t, srv, bkt, s3Fast, func(c *bucket.Config) { c.Endpoint = p.URL })
		res := publish.Publish(context.Background(), s3Prepare(t, f.load()), s3Options(via))
		s3RequireOperational(t, "publish", res)
		if p.Stats().InternalError == 0 {
			t.Fatal("no fault was injected")
		}
		for _, in := range res.Instances {
			if in.Manifest != nil {
				t.Errorf("%s: manifest written although the version could not be confirmed", in.Instance)
			}
		}
	})
}
