package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// The tests verify what the real pipeline published (gate.Prepare of the
// sample fleet once per test binary, publish.Publish into a bucket per
// test), then break it the way a writer without the key, an operator or
// the store could. ours is the sample fleet; theirs is a second sample
// fleet of the same instances with another key.
type fleet struct {
	fx        *sample.Fixture
	instances []plan.Instance
	prep      *gate.Prepared
}

var (
	ctx    = context.Background()
	ours   fleet
	theirs fleet
)

const (
	inst1   = "clawdinator-1"
	inst2   = "clawdinator-2"
	inst3   = "clawdinator-babelfish"
	prefix1 = "bootstrap/clawdinator-1"
)

var policy = plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "verify-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for i, f := range []*fleet{&ours, &theirs} {
		if err := f.build(filepath.Join(dir, fmt.Sprint(i))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.prep.Close()
	}
	return m.Run()
}

func (f *fleet) build(dir string) error {
	var err error
	if f.fx, err = sample.Write(dir); err != nil {
		return err
	}
	var iprobs problem.List
	f.instances, iprobs = plan.LoadInstances(f.fx.InstancesFile)
	prep, probs, err := gate.Prepare(ctx, gate.Inputs{
		AgeKey: f.fx.Key, SecretsDir: f.fx.SecretsDir, RepoSeedsDir: f.fx.SeedsDir,
		Instances: f.instances, InstancesProblems: iprobs, Policy: policy,
		Mtime: time.Unix(1700000000, 0).UTC(), TempDir: dir,
	})
	if err != nil || prep == nil {
		return fmt.Errorf("prepare: %v %v", err, probs)
	}
	f.prep = prep
	return nil
}

// publishTo publishes the fleet's instances (all when none are named) to b.
func (f *fleet) publishTo(t *testing.T, b bucket.Bucket, only ...string) {
	t.Helper()
	prep := *f.prep
	if len(only) > 0 {
		p := *prep.Plan
		p.Instances = nil
		for _, ip := range prep.Plan.Instances {
			for _, o := range only {
				if ip.Name == o {
					p.Instances = append(p.Instances, ip)
				}
			}
		}
		prep.Plan = &p
	}
	res := publish.Publish(ctx, &prep, publish.Options{Bucket: b, Tool: manifest.Tool{Name: "clawdinator-bundle", Version: "test"}})
	if !res.OK() {
		t.Fatalf("publish: %v\n%s", res.Err(), render(res.Problems))
	}
}

// published returns b with our fleet published to it.
func published(t *testing.T, b bucket.Bucket) bucket.Bucket {
	t.Helper()
	ours.publishTo(t, b)
	return b
}

// check verifies b for the main fleet's instances file, after mod.
func check(t *testing.T, b bucket.Bucket, mod ...func(*verify.Inputs, *verify.Options)) *result.Result {
	t.Helper()
	in := verify.Inputs{Instances: ours.instances, InstancesFile: ours.fx.InstancesFile, Policy: policy}
	opt := verify.Options{Bucket: b}
	for _, m := range mod {
		m(&in, &opt)
	}
	return verify.Verify(ctx, in, opt)
}

// instance returns the result of the named instance.
func instance(t *testing.T, res *result.Result, name string) result.Instance {
	t.Helper()
	for _, ir := range res.Instances {
		if ir.Instance == name {
			return ir
		}
	}
	t.Fatalf("no result for %s: %+v", name, res.Instances)
	return result.Instance{}
}

// objects returns an instance's secrets archive and repo-seeds results.
func objects(t *testing.T, ir result.Instance) (sec, seeds result.Object) {
	t.Helper()
	if len(ir.Objects) != 2 || ir.Objects[0].Name != layout.SecretsObject || ir.Objects[1].Name != layout.SeedsObject {
		t.Fatalf("%s: objects %+v, want the secrets archive and repo-seeds", ir.Instance, ir.Objects)
	}
	return ir.Objects[0], ir.Objects[1]
}

// requireOnlyBroken fails unless exactly the named instance is unverified.
func requireOnlyBroken(t *testing.T, res *result.Result, broken string) {
	t.Helper()
	for _, ir := range res.Instances {
		if ir.Verified == (ir.Instance == broken) {
			t.Errorf("%s verified = %v", ir.Instance, ir.Verified)
		}
	}
}

func key(prefix, name string) string { return layout.Key(prefix, name) }

func put(t *testing.T, b bucket.Bucket, k string, data []byte) bucket.Object {
	t.Helper()
	obj, err := b.Put(ctx, k, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func get(t *testing.T, b bucket.Bucket, k string) []byte {
	t.Helper()
	rc, _, err := b.Get(ctx, k, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// editManifest rewrites prefix's manifest, as a writer without the key can.
func editManifest(t *testing.T, b bucket.Bucket, prefix string, edit func(*manifest.Manifest)) {
	t.Helper()
	m, err := manifest.Parse(get(t, b, key(prefix, layout.ManifestName)))
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, key(prefix, layout.ManifestName), data)
}

// rebundle writes instance's secrets archive again with the fleet's key,
// after edit changed its statement and files: a bundle only the key's
// holder can make, consistent in itself.
func rebundle(t *testing.T, instance string, edit func(st *manifest.Statement, files []bundle.SecretFile) []bundle.SecretFile) []byte {
	t.Helper()
	c, probs := bundle.VerifySecrets(bytes.NewReader(ours.prep.Secrets[instance].Data), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	var files []bundle.SecretFile
	for _, s := range c.Secrets {
		files = append(files, bundle.SecretFile{Name: s.Name, Data: c.Entries[bundle.SecretsDir+"/"+s.Name]})
	}
	st := *ours.prep.Statements[instance]
	files = edit(&st, files)
	st.Secrets = nil
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		st.Secrets = append(st.Secrets, bundle.SecretInfo{Name: f.Name, Size: int64(len(f.Data)), SHA256: fmt.Sprintf("%x", sum)})
	}
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, c.Entries[bundle.KeyEntry], st.Marshal(), files, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func render(l problem.List) string {
	var lines []string
	for _, p := range l {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// find returns the error-severity problems holding every want.
func find(l problem.List, want ...string) problem.List {
	var out problem.List
next:
	for _, p := range l.Errors() {
		for _, w := range want {
			if !strings.Contains(p.String(), w) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

// requireProblem fails unless exactly one error-severity problem holds
// every want.
func requireProblem(t *testing.T, l problem.List, want ...string) {
	t.Helper()
	if n := len(find(l, want...)); n != 1 {
		t.Errorf("%d problems hold %q, want 1; got:\n%s", n, want, render(l))
	}
}

// requireNoProblem fails when any problem holds s.
func requireNoProblem(t *testing.T, l problem.List, s string) {
	t.Helper()
	for _, p := range l {
		if strings.Contains(p.String(), s) {
			t.Errorf("a problem holds %q: %s", s, p)
		}
	}
}

var (
	errDenied = &bucket.Error{Op: "head", Kind: bucket.AccessDenied, Err: errors.New("AccessDenied")}
	errOther  = &bucket.Error{Op: "head", Kind: bucket.Other, Err: errors.New("InvalidRequest")}
)

// hooked is a bucket whose calls tests count and break: fail, when set,
// may fail any call ("get" or "head") of a key and version.
type hooked struct {
	bucket.Bucket
	fail func(op, key, version string) error

	mu    sync.Mutex
	calls map[string]int // "op key" -> calls
}

func hook(b bucket.Bucket) *hooked { return &hooked{Bucket: b, calls: map[string]int{}} }

func (h *hooked) call(op, key, version string) error {
	h.mu.Lock()
	h.calls[op+" "+key]++
	h.mu.Unlock()
	if h.fail != nil {
		return h.fail(op, key, version)
	}
	return nil
}

func (h *hooked) Calls(op, key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[op+" "+key]
}

func (h *hooked) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	if err := h.call("get", key, versionID); err != nil {
		return nil, bucket.Object{}, err
	}
	return h.Bucket.Get(ctx, key, versionID)
}

func (h *hooked) Head(ctx context.Context, key, versionID string) (bucket.Object, error) {
	if err := h.call("head", key, versionID); err != nil {
		return bucket.Object{}, err
	}
	return h.Bucket.Head(ctx, key, versionID)
}
