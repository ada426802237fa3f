//go:build linux

package install_test

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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bucket/buckettest"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The local tests (TestLocal*) run install's decisions against buckets on
// local disk, bucket.Dir and buckettest.Versioned (where versions matter),
// without root (Chown off) and without an S3 server: seconds in all, so
// that mutation testing of install is feasible. The S3 tests (TestInstall*)
// run the same host side as root against versitygw.

// localFleet is the sample fleet, prepared once per test binary; each test
// publishes it to a bucket of its own.
var localFleet struct {
	once sync.Once
	fx   *sample.Fixture
	prep *gate.Prepared
	err  error
}

// fleet returns the prepared sample fleet.
func fleet(t *testing.T) (*sample.Fixture, *gate.Prepared) {
	t.Helper()
	f := &localFleet
	f.once.Do(func() {
		// Kept for the life of the test binary: a few hundred KiB.
		dir, err := os.MkdirTemp("", "install-local-")
		if err != nil {
			f.err = err
			return
		}
		if f.fx, f.err = sample.Write(dir); f.err != nil {
			return
		}
		instances, iprobs := plan.LoadInstances(f.fx.InstancesFile)
		var probs problem.List
		f.prep, probs, f.err = gate.Prepare(context.Background(), gate.Inputs{
			AgeKey: f.fx.Key, SecretsDir: f.fx.SecretsDir, RepoSeedsDir: f.fx.SeedsDir,
			Instances: instances, InstancesProblems: iprobs,
			Policy: plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude},
			Mtime:  time.Unix(1700000000, 0).UTC(), TempDir: dir,
		})
		if f.err == nil && f.prep == nil {
			f.err = fmt.Errorf("%v", probs)
		}
	})
	if f.err != nil {
		t.Fatalf("prepare the sample fleet: %v", f.err)
	}
	return f.fx, f.prep
}

// localPublish publishes the sample fleet to b.
func localPublish(t *testing.T, b bucket.Bucket) *sample.Fixture {
	t.Helper()
	fx, prep := fleet(t)
	res := publish.Publish(context.Background(), prep, publish.Options{Bucket: b, Tool: manifest.Tool{Name: "clawdinator-bundle", Version: "test"}})
	if !res.OK() {
		t.Fatalf("publish: %v %v", res.Err(), res.Problems)
	}
	return fx
}

// localDir is a bucket.Dir with the sample fleet published to it.
func localDir(t *testing.T) (bucket.Dir, *sample.Fixture) {
	t.Helper()
	b := bucket.Dir(t.TempDir())
	return b, localPublish(t, b)
}

// localVersioned is a versioned bucket with the sample fleet published.
func localVersioned(t *testing.T) (*buckettest.Versioned, *sample.Fixture) {
	t.Helper()
	b := buckettest.NewVersioned(t.TempDir())
	return b, localPublish(t, b)
}

// localOptions are a host's install of prefix from b, pinned to pin,
// without chown (the tests need not run as root).
func localOptions(h host, b bucket.Bucket, prefix, pin string) install.Options {
	o := hostOptions(h, b, prefix, pin)
	o.Chown = false
	return o
}

// localPut writes data as the current object at k.
func localPut(t *testing.T, b bucket.Bucket, k string, data []byte) bucket.Object {
	t.Helper()
	obj, err := b.Put(context.Background(), k, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func localGet(t *testing.T, b bucket.Bucket, k string) []byte {
	t.Helper()
	rc, _, err := b.Get(context.Background(), k, "")
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

// localManifest rewrites prefix's manifest in b with edit.
func localManifest(t *testing.T, b bucket.Bucket, prefix string, edit func(*manifest.Manifest)) {
	t.Helper()
	k := layout.Key(prefix, layout.ManifestName)
	m, err := manifest.Parse(localGet(t, b, k))
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	localPut(t, b, k, data)
}

// localRebundle writes prefix's secrets archive again with the fleet key,
// its statement edited: a bundle the key's holder vouches for.
func localRebundle(t *testing.T, b bucket.Bucket, prefix string, edit func(*manifest.Statement)) {
	t.Helper()
	k := layout.Key(prefix, layout.SecretsObject)
	c, probs := bundle.VerifySecrets(bytes.NewReader(localGet(t, b, k)), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	st, err := manifest.ParseStatement(c.Statement)
	if err != nil {
		t.Fatal(err)
	}
	seq := st.Sequence
	edit(st)
	if st.Sequence == seq {
		// A new statement from the key's holder comes with a higher number.
		st.Sequence++
	}
	var files []bundle.SecretFile
	for _, s := range c.Secrets {
		files = append(files, bundle.SecretFile{Name: s.Name, Data: c.Entries[bundle.SecretsDir+"/"+s.Name]})
	}
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, c.Entries[bundle.KeyEntry], st.Marshal(), files, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	localPut(t, b, k, buf.Bytes())
}

// localStatement is the statement of prefix's current secrets archive.
func localStatement(t *testing.T, b bucket.Bucket, prefix string) *manifest.Statement {
	t.Helper()
	c, probs := bundle.VerifySecrets(bytes.NewReader(localGet(t, b, layout.Key(prefix, layout.SecretsObject))), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	st, err := manifest.ParseStatement(c.Statement)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// requireUsage requires install to refuse opt as a usage error holding
// want, with the host root left as it was.
func requireUsage(t *testing.T, h host, opt install.Options, want string) {
	t.Helper()
	before := snapshot(t, h.root)
	res, err := install.Run(context.Background(), opt)
	var ue *problem.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
		t.Errorf("err %v (result %+v), want a usage error holding %q", err, res, want)
	}
	requireSame(t, "usage error", before, snapshot(t, h.root))
}

// staging lists what install may have left next to the destinations.
func staging(t *testing.T, h host) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{filepath.Dir(h.seedsDir), filepath.Dir(h.keyPath)} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if strings.Contains(e.Name(), ".install-") {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	slices.Sort(out)
	return out
}

// counting is a bucket that counts downloads and may fail calls: fail,
// when set, is asked before every Get and Head ("get", "head").
type counting struct {
	bucket.Bucket
	fail func(op, key, version string) error

	mu   sync.Mutex
	gets map[string]int
}

func count(b bucket.Bucket) *counting { return &counting{Bucket: b, gets: map[string]int{}} }

func (c *counting) Gets(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets[key]
}

func (c *counting) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	c.mu.Lock()
	c.gets[key]++
	c.mu.Unlock()
	if c.fail != nil {
		if err := c.fail("get", key, versionID); err != nil {
			return nil, bucket.Object{}, err
		}
	}
	return c.Bucket.Get(ctx, key, versionID)
}

func (c *counting) Head(ctx context.Context, key, versionID string) (bucket.Object, error) {
	if c.fail != nil {
		if err := c.fail("head", key, versionID); err != nil {
			return bucket.Object{}, err
		}
	}
	return c.Bucket.Head(ctx, key, versionID)
}
