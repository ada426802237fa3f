package publish_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// The S3 tests run the engine against a real versitygw and check what it
// wrote with clients that share none of its code: Debian's aws CLI, GNU tar
// with --zstd, zstd and the age CLI.

// s3Bucket creates a fresh versioned bkt on srv.
func s3Bucket(t *testing.T, srv *s3test.Server) string {
	t.Helper()
	var b [5]byte
	rand.Read(b[:])
	name := "pub-" + hex.EncodeToString(b[:])
	srv.CreateBucket(t, name)
	return name
}

// s3Open returns a store for bkt on srv, as the CLI would build it.
func s3Open(t *testing.T, srv *s3test.Server, bkt string, mod ...func(*bucket.Config)) *bucket.S3 {
	t.Helper()
	c := bucket.Config{
		Bucket: bkt, Region: srv.Region, Endpoint: srv.Endpoint,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
	}
	for _, m := range mod {
		m(&c)
	}
	st, err := bucket.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// s3Fixture is the sample workload and the Inputs the CLI would build.
type s3Fixture struct {
	*sample.Fixture
	in gate.Inputs
}

func s3NewFixture(t *testing.T) *s3Fixture {
	t.Helper()
	fx, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &s3Fixture{Fixture: fx, in: gate.Inputs{
		AgeKey: fx.Key, SecretsDir: fx.SecretsDir, RepoSeedsDir: fx.SeedsDir,
		Policy: plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude},
		Mtime:  time.Unix(0, 0).UTC(), TempDir: t.TempDir(),
	}}
}

// reencrypt replaces secret name with a new ciphertext of plaintext (to the
// fixture's own key unless recipients are given).
func (f *s3Fixture) reencrypt(t *testing.T, name, plaintext string) {
	t.Helper()
	if err := sample.Encrypt(filepath.Join(f.SecretsDir, name), []byte(plaintext), s3Recipient(t, f.Key)); err != nil {
		t.Fatal(err)
	}
}

func s3Prepare(t *testing.T, in gate.Inputs) *gate.Prepared {
	t.Helper()
	prep, probs, err := gate.Prepare(context.Background(), in)
	if err != nil || prep == nil || len(probs.Errors()) > 0 {
		t.Fatalf("prepare: %v\n%s", err, s3Render(probs))
	}
	t.Cleanup(func() { prep.Close() })
	return prep
}

func s3Options(b bucket.Bucket) publish.Options {
	return publish.Options{
		Bucket: b,
		Tool:   manifest.Tool{Name: "clawdinator-bundle", Version: "test"},
		Source: manifest.Source{Repository: "openclaw/clawdinators", SHA: "abc123", RunID: "7"},
	}
}

// s3Publish prepares and publishes f to b and requires a clean result.
func s3Publish(t *testing.T, b bucket.Bucket, f *s3Fixture) *result.Result {
	t.Helper()
	res := publish.Publish(context.Background(), s3Prepare(t, f.load()), s3Options(b))
	s3RequireClean(t, "publish", res)
	return res
}

// s3Verify runs verify mode over every instance of f.
func s3Verify(t *testing.T, b bucket.Bucket, f *s3Fixture, expectedRecipient string) *result.Result {
	t.Helper()
	instances, probs := plan.LoadInstances(f.InstancesFile)
	if len(probs) > 0 {
		t.Fatal(s3Render(probs))
	}
	return verify.Verify(context.Background(), verify.Inputs{Instances: instances, Policy: f.in.Policy},
		verify.Options{Bucket: b, ExpectedRecipient: expectedRecipient})
}

func s3Render(l problem.List) string {
	var b strings.Builder
	for _, p := range l {
		sev := "error"
		if p.Severity == problem.Warning {
			sev = "warning"
		}
		fmt.Fprintf(&b, "  %s: %s\n", sev, p)
	}
	return b.String()
}

func s3RequireClean(t *testing.T, what string, res *result.Result) {
	t.Helper()
	if err := res.Err(); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, s3Render(res.Problems))
	}
	if errs := res.Problems.Errors(); len(errs) > 0 {
		t.Fatalf("%s: problems:\n%s", what, s3Render(errs))
	}
	if len(res.Instances) != len(sample.Instances) {
		t.Fatalf("%s: %d instances, want %d", what, len(res.Instances), len(sample.Instances))
	}
	for _, in := range res.Instances {
		if !in.Verified {
			t.Errorf("%s: %s not verified", what, in.Instance)
		}
	}
}

// s3RequireProblems checks that verify found problems, not an operational
// failure (exit status 1, not 3), that every error names instance and
// object, that each pattern matches one of them, and that every other
// instance still verified.
func s3RequireProblems(t *testing.T, res *result.Result, instance, object string, patterns ...string) {
	t.Helper()
	if err := res.Err(); err != nil {
		t.Fatalf("verify failed to complete (%v); want problems", err)
	}
	errs := res.Problems.Errors()
	if len(errs) == 0 {
		t.Fatalf("verify found no problem")
	}
	for _, p := range errs {
		if p.Instance != instance || p.Object != object {
			t.Errorf("problem about %q %q, want %q %q: %s", p.Instance, p.Object, instance, object, p)
		}
	}
	for _, pat := range patterns {
		re := regexp.MustCompile(pat)
		found := false
		for _, p := range errs {
			found = found || re.MatchString(p.String())
		}
		if !found {
			t.Errorf("no problem matches %q; got:\n%s", pat, s3Render(errs))
		}
	}
	for _, in := range res.Instances {
		if in.Verified == (in.Instance == instance) {
			t.Errorf("%s: verified = %v", in.Instance, in.Verified)
		}
	}
}

// s3Tool finds an independent client: a missing one fails under CI=true.
func s3Tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v", name, err)
		}
		t.Skipf("%s: %v", name, err)
	}
	return p
}

// s3AWSPath is Debian's aws CLI, not whatever else PATH offers.
const s3AWSPath = "/usr/bin/aws"

// s3AWS runs the aws CLI against srv and returns its stdout.
func s3AWS(t *testing.T, srv *s3test.Server, args ...string) []byte {
	t.Helper()
	if _, err := os.Stat(s3AWSPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("aws CLI: %v", err)
		}
		t.Skipf("aws CLI: %v", err)
	}
	cmd := exec.Command(s3AWSPath, append([]string{"--endpoint-url", srv.Endpoint}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, srv.Env()...)
	return s3Run(t, cmd)
}

// s3Exec runs an independent tool and returns its stdout.
func s3Exec(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	return s3Run(t, exec.Command(s3Tool(t, name), args...))
}

func s3Run(t *testing.T, cmd *exec.Cmd) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	return out
}

// s3Upload writes data to bkt/key with the aws CLI: a writer that is not
// this tool and writes no manifest.
func s3Upload(t *testing.T, srv *s3test.Server, bkt, key string, data []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s3AWS(t, srv, "s3", "cp", "--only-show-errors", p, "s3://"+bkt+"/"+key)
}

// s3Fetch reads key at version ("" = current) through the store and
// returns its SHA-256.
func s3Fetch(t *testing.T, st *bucket.S3, key, version string) string {
	t.Helper()
	rc, _, err := st.Get(context.Background(), key, version)
	if err != nil {
		t.Fatalf("get %s version %s: %v", key, version, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatalf("read %s version %s: %v", key, version, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// s3ReadManifest reads an instance's current manifest through the store.
func s3ReadManifest(t *testing.T, st *bucket.S3, instance string) (*manifest.Manifest, []byte) {
	t.Helper()
	rc, _, err := st.Get(context.Background(), "bootstrap/"+instance+"/manifest.json", "")
	if err != nil {
		t.Fatalf("get manifest of %s: %v", instance, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		t.Fatalf("manifest of %s: %v", instance, err)
	}
	return m, data
}

// s3RequireGoodVersions checks that every object m names can still be
// downloaded at the version it names, with the digest it names.
func s3RequireGoodVersions(t *testing.T, st *bucket.S3, m *manifest.Manifest) {
	t.Helper()
	for _, o := range m.Objects {
		if got := s3Fetch(t, st, o.Key, o.VersionID); got != o.SHA256 {
			t.Errorf("%s version %s has sha256 %s, the manifest says %s", o.Key, o.VersionID, got, o.SHA256)
		}
	}
}

// s3Recipient returns the recipient of identity text.
func s3Recipient(t *testing.T, key []byte) age.Recipient {
	t.Helper()
	k, err := agekey.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.ParseX25519Recipient(k.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// load returns the fixture's Inputs with the instances file as it is now.
func (f *s3Fixture) load() gate.Inputs {
	in := f.in
	in.Instances, in.InstancesProblems = plan.LoadInstances(f.InstancesFile)
	return in
}
