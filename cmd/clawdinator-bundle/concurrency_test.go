package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/faultproxy"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The concurrency setting of publish and verify (publish.Options and
// verify.Options, no input of the tool) reaches every step that talks to
// the bucket: the repo-seeds reuse lookup, publish and verify, each run
// through its command's run against
// a real S3 server behind the fault proxy, which counts the requests in
// flight. At 1 the server never has two at once. At one per instance, each
// step is held until two of its own requests are in flight together: the
// measure can see what the first case rules out, and each step fans out.
func TestConcurrencyBoundsRequestsInFlight(t *testing.T) {
	srv := s3test.Start(t)
	n := len(sample.Instances)
	if n < 2 {
		t.Fatalf("the sample has %d instances: nothing to run at once", n)
	}
	for _, concurrency := range []int{1, n} {
		t.Run(fmt.Sprint(concurrency), func(t *testing.T) {
			bkt := fmt.Sprintf("concurrency-%d", concurrency)
			srv.CreateBucket(t, bkt)
			proxy, err := faultproxy.Start(srv.Endpoint, faultproxy.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { proxy.Close() })
			fx := fixture(t)
			// run reads the mode's options as the CLI does, sets the
			// concurrency and runs.
			run := func(mode string) (*result.Result, error) {
				o := parsed(t, fx, mode, "--s3-bucket", bkt, "--s3-endpoint", proxy.URL, "--aws-region", srv.Region)
				switch o := o.(type) {
				case *publishOptions:
					o.bucket.AccessKeyID, o.bucket.SecretAccessKey = srv.AccessKey, srv.SecretKey
					o.publish.Concurrency = concurrency
				case *verifyOptions:
					o.bucket.AccessKeyID, o.bucket.SecretAccessKey = srv.AccessKey, srv.SecretKey
					o.verify.Concurrency = concurrency
				}
				return o.run(context.Background(), nil)
			}
			for _, step := range []struct {
				name string
				mode string
				// own picks requests only this step sends.
				own func(*http.Request) bool
			}{
				// The first publish finds nothing to reuse, so the lookup
				// stops at each missing secrets archive: every HEAD is
				// publish's (first, whether an object is already in place).
				{"publish", config.Publish, func(r *http.Request) bool { return r.Method == http.MethodHead }},
				// The second reads every instance's manifest for the
				// statement it names (publish.FindCurrent): the only
				// reads of manifests in a publish.
				{"seeds lookup", config.Publish, func(r *http.Request) bool {
					return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+layout.ManifestName)
				}},
				{"verify", config.Verify, func(r *http.Request) bool {
					return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+layout.ManifestName)
				}},
			} {
				b := &barrier{open: make(chan struct{})}
				rule := faultproxy.Rule{Latency: 2 * time.Millisecond}
				if concurrency > 1 {
					rule = faultproxy.Rule{Match: step.own, Hold: b.hold}
				}
				if err := proxy.Set(faultproxy.Config{Rules: []faultproxy.Rule{rule}}); err != nil {
					t.Fatal(err)
				}
				proxy.ResetMaxInFlight()
				before := proxy.Stats()
				res, err := run(step.mode)
				if err != nil || !res.OK() {
					t.Fatalf("%s: %v %v %v", step.name, err, res.Err(), res.Problems)
				}
				if step.name == "seeds lookup" && statuses(res)[result.Unchanged] != 2*n {
					t.Fatalf("%s: statuses %v, want every object unchanged", step.name, statuses(res))
				}
				sent := proxy.Stats().Sub(before).Requests
				most := proxy.MaxInFlight()
				t.Logf("%s at concurrency %d: %d requests, at most %d in flight", step.name, concurrency, sent, most)
				switch {
				case sent < int64(n):
					t.Errorf("%s: only %d requests went through the proxy", step.name, sent)
				case concurrency == 1 && most != 1:
					t.Errorf("%s at concurrency 1: %d requests in flight at once, want 1", step.name, most)
				case concurrency > 1 && (!b.met() || most < 2):
					t.Errorf("%s at concurrency %d: never two of its requests in flight together (at most %d in all)", step.name, concurrency, most)
				}
			}
		})
	}
}

// barrier holds the requests it is given until two are held together, then
// lets every one through. When a request waited in vain, it gives up
// holding: the step sends one request at a time.
type barrier struct {
	mu      sync.Mutex
	waiting int
	open    chan struct{}
	opened  bool
	gaveUp  bool
}

func (b *barrier) hold(*http.Request) {
	b.mu.Lock()
	if b.opened || b.gaveUp {
		b.mu.Unlock()
		return
	}
	b.waiting++
	if b.waiting >= 2 {
		b.opened = true
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
	case <-time.After(10 * time.Second):
		b.mu.Lock()
		b.gaveUp = true
		b.waiting--
		b.mu.Unlock()
	}
}

func (b *barrier) met() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened
}
