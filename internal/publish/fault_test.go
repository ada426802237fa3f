package publish_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/faultproxy"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// faultEnv is a sample workload, a versioned bkt on a real versitygw,
// a fault proxy in front of it, a store that goes through the proxy (what
// is under test) and one that does not (to look at the bkt afterwards).
type faultEnv struct {
	fx        *sample.Fixture
	srv       *s3test.Server
	proxy     *faultproxy.Proxy
	via       *bucket.S3
	direct    *bucket.S3
	instances []plan.Instance
	policy    plan.Policy
	revision  int
}

func newFaultEnv(t *testing.T, srv *s3test.Server, bkt string) *faultEnv {
	t.Helper()
	srv.CreateBucket(t, bkt)
	fx, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(srv.Endpoint, faultproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	instances, probs := plan.LoadInstances(fx.InstancesFile)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return &faultEnv{
		fx: fx, srv: srv, proxy: p, instances: instances,
		via:    faultOpenStore(t, srv, bkt, p.URL),
		direct: faultOpenStore(t, srv, bkt, srv.Endpoint),
		policy: plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude},
	}
}

// openStore uses the store's defaults (6 attempts, backoff up to 4 s,
// 2 minute operation timeout): the retries under test are the real ones.
func faultOpenStore(t *testing.T, srv *s3test.Server, bkt, endpoint string) *bucket.S3 {
	t.Helper()
	st, err := bucket.New(context.Background(), bucket.Config{
		Bucket: bkt, Region: srv.Region, Endpoint: endpoint,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (e *faultEnv) prepare(t *testing.T) *gate.Prepared {
	t.Helper()
	instances, iprobs := plan.LoadInstances(e.fx.InstancesFile)
	prep, probs, err := gate.Prepare(context.Background(), gate.Inputs{
		Instances: instances, InstancesProblems: iprobs,
		AgeKey: e.fx.Key, SecretsDir: e.fx.SecretsDir, RepoSeedsDir: e.fx.SeedsDir,
		Policy: e.policy, TempDir: t.TempDir(),
	})
	if err != nil || len(probs.Errors()) > 0 {
		t.Fatalf("Prepare: %v %v", err, probs.Errors())
	}
	t.Cleanup(func() { prep.Close() })
	return prep
}

// change gives every instance new bytes for both objects: a secret every
// instance receives is re-encrypted with a new plaintext, and repo-seeds
// gains a file. The next publish has to upload.
func (e *faultEnv) change(t *testing.T) {
	t.Helper()
	e.revision++
	r, err := age.ParseX25519Recipient(e.fx.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	name := "clawdinator-control-token.age"
	if err := sample.Encrypt(filepath.Join(e.fx.SecretsDir, name), []byte(sample.Canary+name+"-rotated-"+strings.Repeat("x", e.revision)), r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.fx.SeedsDir, "openclaw", "CHANGES.md"), []byte(strings.Repeat("change\n", e.revision)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *faultEnv) publish(ctx context.Context, prep *gate.Prepared) *result.Result {
	return publish.Publish(ctx, prep, publish.Options{Bucket: e.via})
}

// mustPublish publishes with whatever faults are set and requires success.
func (e *faultEnv) mustPublish(t *testing.T) *result.Result {
	t.Helper()
	res := e.publish(context.Background(), e.prepare(t))
	if err := res.Err(); err != nil {
		t.Fatalf("publish: %v\nproblems: %v", err, res.Problems)
	}
	if errs := res.Problems.Errors(); len(errs) > 0 {
		t.Fatalf("publish problems: %v", errs)
	}
	for _, in := range res.Instances {
		if !in.Verified || in.Manifest == nil {
			t.Fatalf("%s: verified=%v manifest=%v", in.Instance, in.Verified, in.Manifest != nil)
		}
	}
	return res
}

// manifestVersions returns each instance's current manifest.json version,
// read without the proxy.
func (e *faultEnv) manifestVersions(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, in := range e.instances {
		obj, err := e.direct.Head(context.Background(), in.BootstrapPrefix+"/"+layout.ManifestName, "")
		if err != nil {
			t.Fatalf("head manifest of %s: %v", in.Name, err)
		}
		out[in.Name] = obj.VersionID
	}
	return out
}

// mustVerify runs verify mode without the proxy: what a host would download
// now must be exactly what the manifests name, and boot.
func (e *faultEnv) mustVerify(t *testing.T, want map[string]*manifest.Manifest) {
	t.Helper()
	res := verify.Verify(context.Background(), verify.Inputs{Instances: e.instances, Policy: e.policy}, verify.Options{Bucket: e.direct})
	if err := res.Err(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("verify found problems (a half-published instance?):\n%v", res.Problems)
	}
	for _, in := range res.Instances {
		if !in.Verified || in.Manifest == nil {
			t.Fatalf("verify %s: verified=%v manifest=%v", in.Instance, in.Verified, in.Manifest != nil)
		}
		if w := want[in.Instance]; w != nil {
			for _, o := range w.Objects {
				if got := in.Manifest.Object(o.Name); got == nil || got.VersionID != o.VersionID || got.SHA256 != o.SHA256 {
					t.Fatalf("verify %s: manifest names %+v for %s, want the previous %+v", in.Instance, got, o.Name, o)
				}
			}
		}
	}
}

func faultManifests(res *result.Result) map[string]*manifest.Manifest {
	out := map[string]*manifest.Manifest{}
	for _, m := range res.Manifests() {
		out[m.Instance] = m
	}
	return out
}

func faultIsGET(r *http.Request) bool { return r.Method == http.MethodGet }

// TestFaultTransient publishes through throttling, server errors, resets
// and latency that a retrying client rides out. Each faulted request is
// retried by the SDK; MaxConsecutive 2 (below the store's 6 attempts)
// makes the faults transient by construction. A GET's response body is
// never cut: the SDK hands it to the caller after the headers, so that
// read is not retried (see TestFaultPullBack).
func TestFaultTransient(t *testing.T) {
	srv := s3test.Start(t)
	e := newFaultEnv(t, srv, "transient")
	const latency = 5 * time.Millisecond
	err := e.proxy.Set(faultproxy.Config{Seed: 20240601, Rules: []faultproxy.Rule{
		{Match: faultIsGET, SlowDown: 0.3, InternalError: 0.05, ResetRequest: 0.1, Latency: latency, MaxConsecutive: 2},
		{SlowDown: 0.3, InternalError: 0.05, ResetRequest: 0.1, ResetResponse: 0.1, Latency: latency, MaxConsecutive: 2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := e.mustPublish(t)
	stats := e.proxy.Stats()
	t.Logf("publish through faults took %v; proxy: %v", time.Since(start).Round(time.Millisecond), stats)
	if stats.SlowDown == 0 || stats.ResetRequest == 0 || stats.ResetResponse == 0 || stats.InternalError == 0 || stats.Delayed != stats.Requests {
		t.Fatalf("not every kind of fault was injected: %v", stats)
	}
	for _, in := range res.Instances {
		for _, o := range in.Objects {
			if o.Status != result.Uploaded || !o.Verified {
				t.Fatalf("%s %s: status %s verified %v", in.Instance, o.Name, o.Status, o.Verified)
			}
		}
	}
	e.proxy.Off()
	e.mustVerify(t, faultManifests(res))
}

// TestFaultPersistent publishes new content while S3 keeps failing. The
// run must end (within a generous bound: it is not a benchmark) with an
// operational error of kind Unreachable (exit status 3), write no manifest,
// and leave each instance as the previous publish left it: verify, with
// the faults gone, finds the previous manifests' versions current and
// booting. The cases wait out the store's retries in parallel.
func TestFaultPersistent(t *testing.T) {
	srv := s3test.Start(t)
	put := func(object string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return r.Method == http.MethodPut && (object == "" || strings.HasSuffix(r.URL.Path, "/"+object))
		}
	}
	for i, tc := range []struct {
		name string
		// fault sets the faults after the previous publish.
		fault func(*faultproxy.Proxy) error
	}{
		{"every PUT throttled", func(p *faultproxy.Proxy) error {
			return p.Set(faultproxy.Config{Rules: []faultproxy.Rule{faultproxy.Always(faultproxy.SlowDown, put(""))}})
		}},
		// The secrets archive goes up, then repo-seeds keeps failing: the
		// new secrets version must not stay current behind the manifest.
		{"repo-seeds PUT fails after secrets went up", func(p *faultproxy.Proxy) error {
			return p.Set(faultproxy.Config{Rules: []faultproxy.Rule{faultproxy.Always(faultproxy.InternalError, put(layout.SeedsObject))}})
		}},
		// Every attempt at the secrets archive lands, but its response is
		// lost: versions the run never learns the id of are left behind.
		{"secrets PUT responses lost", func(p *faultproxy.Proxy) error {
			return p.Set(faultproxy.Config{Rules: []faultproxy.Rule{faultproxy.Always(faultproxy.ResetResponse, put(layout.SecretsObject))}})
		}},
		{"proxy closed", func(p *faultproxy.Proxy) error { return p.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t, srv, fmt.Sprintf("persistent-%d", i))
			prev := faultManifests(e.mustPublish(t))
			before := e.manifestVersions(t)
			e.change(t)
			prep := e.prepare(t)
			for _, in := range prep.Plan.Instances {
				if prep.Secrets[in.Name].Hex() == prev[in.Name].Object(layout.SecretsObject).SHA256 {
					t.Fatalf("%s: the changed secrets archive has the previous bytes", in.Name)
				}
			}
			if err := tc.fault(e.proxy); err != nil {
				t.Fatal(err)
			}
			stats0 := e.proxy.Stats()

			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			start := time.Now()
			res := e.publish(ctx, prep)
			took := time.Since(start)
			stats := e.proxy.Stats().Sub(stats0)
			t.Logf("publish under persistent faults returned after %v; proxy: %v", took.Round(time.Millisecond), stats)
			if ctx.Err() != nil {
				t.Fatalf("publish ran into the 90s test deadline (%v): it should give up by itself", took)
			}
			err := res.Err()
			if err == nil {
				t.Fatal("publish succeeded under persistent faults")
			}
			if k := bucket.Classify(err); k != bucket.Unreachable {
				t.Fatalf("error kind %v, want unreachable (exit 3): %v", k, err)
			}
			t.Logf("error: %v", err)
			if errs := res.Problems.Errors(); len(errs) > 0 {
				t.Fatalf("problems besides the operational error (a failed rollback?): %v", errs)
			}
			for _, in := range res.Instances {
				if in.Manifest != nil || in.Verified {
					t.Fatalf("%s: a manifest was written under persistent faults", in.Instance)
				}
			}
			if tc.name != "proxy closed" && stats.Faulted() == 0 {
				t.Fatalf("no fault was injected: %v", stats)
			}
			e.proxy.Off()
			if got := e.manifestVersions(t); !faultEqual(got, before) {
				t.Fatalf("manifest versions changed from %v to %v", before, got)
			}
			e.mustVerify(t, prev)
		})
	}
}

// TestFaultPullBackTransient cuts the first pull-back download of each
// secrets archive halfway. The SDK cannot retry a body it already handed
// over, so publish reads the object again itself, and the run succeeds.
func TestFaultPullBackTransient(t *testing.T) {
	srv := s3test.Start(t)
	e := newFaultEnv(t, srv, "pullback-transient")
	e.mustPublish(t)
	e.change(t)
	prep := e.prepare(t)
	pullBack := func(r *http.Request) bool {
		return faultIsGET(r) && r.URL.Query().Get("versionId") != "" && strings.HasSuffix(r.URL.Path, "/"+layout.SecretsObject)
	}
	rule := faultproxy.Always(faultproxy.ResetResponse, pullBack)
	rule.MaxConsecutive = 1
	if err := e.proxy.Set(faultproxy.Config{Rules: []faultproxy.Rule{rule}}); err != nil {
		t.Fatal(err)
	}
	stats0 := e.proxy.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res := e.publish(ctx, prep)
	stats := e.proxy.Stats().Sub(stats0)
	if err := res.Err(); err != nil {
		t.Fatalf("publish under one cut pull-back per instance: %v (proxy: %v)", err, stats)
	}
	if errs := res.Problems.Errors(); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	if stats.ResetResponse != int64(len(e.instances)) {
		t.Fatalf("%d pull-backs were cut, want one per instance (%d): %v", stats.ResetResponse, len(e.instances), stats)
	}
	for _, in := range res.Instances {
		if in.Manifest == nil || !in.Verified {
			t.Fatalf("%s: not verified after a retried pull-back", in.Instance)
		}
	}
}

// TestFaultPullBack cuts the connection halfway through every pull-back
// download of a secrets archive (a GET by version id; the manifest GET and
// every upload pass). Publish reads again a few times, then fails as
// unreachable, and no manifest may be written for what could not be
// proven: the previous one stays, and so do the versions it names.
func TestFaultPullBack(t *testing.T) {
	srv := s3test.Start(t)
	e := newFaultEnv(t, srv, "pullback")
	prev := faultManifests(e.mustPublish(t))
	before := e.manifestVersions(t)
	e.change(t)
	prep := e.prepare(t)
	pullBack := func(r *http.Request) bool {
		return faultIsGET(r) && r.URL.Query().Get("versionId") != "" && strings.HasSuffix(r.URL.Path, "/"+layout.SecretsObject)
	}
	if err := e.proxy.Set(faultproxy.Config{Rules: []faultproxy.Rule{faultproxy.Always(faultproxy.ResetResponse, pullBack)}}); err != nil {
		t.Fatal(err)
	}
	stats0 := e.proxy.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	res := e.publish(ctx, prep)
	stats := e.proxy.Stats().Sub(stats0)
	t.Logf("publish with failing pull-back returned after %v; proxy: %v", time.Since(start).Round(time.Millisecond), stats)
	err := res.Err()
	if k := bucket.Classify(err); err == nil || k != bucket.Unreachable {
		t.Fatalf("publish: %v (kind %v), want an unreachable error", err, k)
	}
	if want := int64(3 * len(e.instances)); stats.ResetResponse != want {
		t.Fatalf("%d pull-backs were cut, want three attempts per instance (%d): %v", stats.ResetResponse, want, stats)
	}
	for _, in := range res.Instances {
		if in.Manifest != nil || in.Verified {
			t.Fatalf("%s: manifest written although the pull-back failed", in.Instance)
		}
		// Uploaded, then removed again when the pull-back failed.
		if len(in.Objects) == 0 || in.Objects[0].Status != result.RolledBack {
			t.Fatalf("%s: objects %+v: want the new secrets archive uploaded, then rolled back", in.Instance, in.Objects)
		}
	}
	e.proxy.Off()
	if got := e.manifestVersions(t); !faultEqual(got, before) {
		t.Fatalf("manifest versions changed from %v to %v", before, got)
	}
	e.mustVerify(t, prev)
}

func faultEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
