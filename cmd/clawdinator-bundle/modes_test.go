package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The decisions of each mode's run, reached in-process: the options are
// read as the CLI reads them (config.ParseArgs into the command's own
// struct), then run, or its part after the bucket is open.

// runIn runs the command in-process, as main would, with buffers for the
// streams and only the given environment.
func runIn(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code = run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb}, getenv)
	return code, out.String(), errb.String()
}

// inDir runs the test with dir as the working directory: relative paths in
// problems then read as a user would type them.
func inDir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
}

func fixture(t *testing.T) *sample.Fixture {
	t.Helper()
	fx, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// parsed reads mode's options from args, the fixture's paths and its key
// (in CLAWDINATOR_AGE_KEY) first.
func parsed(t *testing.T, fx *sample.Fixture, mode string, args ...string) modeCommand {
	t.Helper()
	env := map[string]string{"CLAWDINATOR_AGE_KEY": string(fx.Key)}
	getenv := func(k string) string { return env[k] }
	o := newMode(mode)
	var base []string
	switch mode {
	case config.Publish, config.Assemble:
		base = []string{"--secrets-dir", fx.SecretsDir, "--repo-seeds-dir", fx.SeedsDir}
	case config.Verify:
		base = []string{"--secrets-dir", fx.SecretsDir, "--expected-recipient", fx.Recipient}
	}
	_, set, err := config.ParseArgs(context.Background(), mode, append(append(base, "--instances-file", fx.InstancesFile), args...), getenv, o.bindings(), io.Discard)
	if err == nil {
		err = o.environment(getenv, set)
	}
	if err != nil {
		t.Fatalf("%s %q: %v", mode, args, err)
	}
	return o
}

func statuses(res *result.Result) map[result.Status]int {
	out := map[result.Status]int{}
	for _, in := range res.Instances {
		for _, o := range in.Objects {
			out[o.Status]++
		}
	}
	return out
}

// Assemble without a directory builds in memory and writes nothing;
// with one, it writes and proves what it wrote.
func TestAssembleRun(t *testing.T) {
	fx := fixture(t)
	res, err := parsed(t, fx, config.Assemble).run(context.Background(), nil)
	if err != nil || !res.OK() || res.Mode != result.Assemble || statuses(res)[result.Built] != 2*len(sample.Instances) {
		t.Fatalf("assemble in memory: %v, ok %v, statuses %v\n%v", err, res.OK(), statuses(res), res.Problems)
	}

	defer func(v string) { version = v }(version)
	version = "v9.9.9"
	res, err = parsed(t, fx, config.Assemble, "--out", filepath.Join(t.TempDir(), "out")).run(context.Background(), nil)
	if err != nil || !res.OK() || statuses(res)[result.Written] != 2*len(sample.Instances) {
		t.Fatalf("assemble --out: %v, ok %v, statuses %v\n%v", err, res.OK(), statuses(res), res.Problems)
	}
	if m := res.Instances[0].Manifest; m == nil || m.Tool.Version != "v9.9.9" {
		t.Errorf("manifest tool: %+v", m)
	}
}

// Verify compares with the secrets dir when it was given, and reports
// drift only then.
func TestVerifyComparesSecretsDir(t *testing.T) {
	fx := fixture(t)
	out := filepath.Join(t.TempDir(), "out")
	if res, err := parsed(t, fx, config.Assemble, "--out", out).run(context.Background(), nil); err != nil || !res.OK() {
		t.Fatalf("assemble: %v %v", err, res.Problems)
	}
	// A newer ciphertext in the secrets dir than in the bundle: drift.
	if err := sample.Encrypt(filepath.Join(fx.SecretsDir, "clawdinator-control-token.age"), []byte(sample.Canary+"rotated"), mustRecipient(t, fx)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		compare bool
		drift   bool
	}{
		{"compared", true, true},
		{"not compared", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := parsed(t, fx, config.Verify, "--dir", out).(*verifyOptions)
			if !tc.compare {
				o.in.SecretsDir = ""
			}
			res, err := o.run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			drift := false
			for _, p := range res.Problems {
				drift = drift || strings.Contains(p.Message, "drift: differs from")
			}
			if drift != tc.drift || res.OK() == tc.drift {
				t.Errorf("drift reported %v, want %v; ok %v\n%v", drift, tc.drift, res.OK(), res.Problems)
			}
		})
	}
}

// Whether verify compares: a secrets dir given is compared; the default,
// unset, only when it exists (a checked-out repository).
func TestVerifySecretsDirDecision(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"given, missing", []string{"--secrets-dir", missing}, "refused"},
		{"given, present", []string{"--secrets-dir", dir}, dir},
		{"default, absent", nil, ""},
	} {
		o := newMode(config.Verify).(*verifyOptions)
		_, set, err := config.ParseArgs(context.Background(), config.Verify, append([]string{"--s3-bucket", "b", "--expected-recipient", "none"}, tc.args...), func(string) string { return "" }, o.bindings(), io.Discard)
		if err == nil {
			err = o.environment(nil, set)
		}
		if tc.want == "refused" {
			if !errors.As(err, new(*problem.UsageError)) {
				t.Errorf("%s: %v, want a usage error", tc.name, err)
			}
			continue
		}
		if err != nil || o.in.SecretsDir != tc.want {
			t.Errorf("%s: secrets dir %q (%v), want %q", tc.name, o.in.SecretsDir, err, tc.want)
		}
	}
}

func mustRecipient(t *testing.T, fx *sample.Fixture) age.Recipient {
	t.Helper()
	r, err := age.ParseX25519Recipient(fx.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A configuration the S3 client refuses is a usage error, before anything
// is read.
func TestBadBucketConfig(t *testing.T) {
	fx := fixture(t)
	_, err := parsed(t, fx, config.Publish, "--s3-bucket", "b", "--sse", "nonsense").run(context.Background(), nil)
	var ue *problem.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `sse must be AES256, aws:kms or none, got "nonsense"`) {
		t.Fatalf("err = %v, want a usage error naming sse", err)
	}
}

// Publish needs versions (the race check, rollback and reuse name them): a
// bucket without versioning is refused as a configuration problem, before
// anything is written, with the command that fixes it.
func TestPublishRequiresVersioning(t *testing.T) {
	srv := s3test.Start(t)
	const name = "unversioned"
	if _, err := srv.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	fx := fixture(t)
	o := parsed(t, fx, config.Publish, "--s3-bucket", name, "--s3-endpoint", srv.Endpoint, "--aws-region", srv.Region).(*publishOptions)
	o.bucket.AccessKeyID, o.bucket.SecretAccessKey = srv.AccessKey, srv.SecretKey
	_, err := o.run(context.Background(), nil)
	var ue *problem.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "bucket unversioned does not have versioning enabled") ||
		!strings.Contains(err.Error(), "put-bucket-versioning --bucket unversioned --versioning-configuration Status=Enabled") {
		t.Fatalf("err = %v, want a usage error naming the fix", err)
	}
	out, err := srv.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(name)})
	if err != nil || len(out.Versions) != 0 {
		t.Errorf("the bucket holds %d objects after a refused publish (%v)", len(out.Versions), err)
	}

	// The same run on a versioned bucket goes through.
	srv.CreateBucket(t, "versioned")
	o.bucket.Bucket = "versioned"
	res, err := o.run(context.Background(), nil)
	if err != nil || !res.OK() {
		t.Fatalf("publish to a versioned bucket: %v %v", err, res.Problems)
	}
}

// Plan reads the instances file and nothing else: no key, no secrets dir,
// no bucket.
func TestPlanRun(t *testing.T) {
	fx := fixture(t)
	if err := os.RemoveAll(fx.SecretsDir); err != nil {
		t.Fatal(err)
	}
	o := parsed(t, fx, config.Plan).(*planOptions)
	res, err := o.run(context.Background(), nil)
	if err != nil || !res.OK() || res.Mode != result.Plan || len(res.Instances) != 0 {
		t.Fatalf("plan: %v, ok %v, %+v", err, res.OK(), res)
	}
	if got := res.Names(); !slices.Equal(got, sample.Instances) {
		t.Errorf("planned %v, want %v", got, sample.Instances)
	}
	if p := res.Planned[1]; p.Prefix != "bootstrap/clawdinator-2" || p.DiscordTokenSecret == "" {
		t.Errorf("planned %+v", p)
	}

	o.policy.Only = []string{"clawdinator-babelfish", "clawdinator-1"}
	res, _ = o.run(context.Background(), nil)
	if got := res.Names(); !res.OK() || !slices.Equal(got, []string{"clawdinator-1", "clawdinator-babelfish"}) {
		t.Errorf("selected: %v ok %v %v", got, res.OK(), res.Problems)
	}

	// A wrong selection or a wrong file lists nothing: a matrix must not
	// fan out over half a plan.
	o.policy.Only = []string{"clawdinator-1", "clawdinator-9"}
	res, _ = o.run(context.Background(), nil)
	if res.OK() || len(res.Planned) != 0 || !res.Problems.HasErrors() {
		t.Errorf("unknown instance: ok %v, planned %v, %v", res.OK(), res.Planned, res.Problems)
	}
	o.policy.Only = nil
	bad := filepath.Join(t.TempDir(), "instances.json")
	if err := os.WriteFile(bad, []byte(`{"a": {"discordTokenSecret": "t"}, "b": {"discordTokenSecret": "t"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	o.instancesFile = bad
	res, _ = o.run(context.Background(), nil)
	if res.OK() || len(res.Planned) != 0 || !res.Problems.HasErrors() {
		t.Errorf("two instances, one token: ok %v, planned %v, %v", res.OK(), res.Planned, res.Problems)
	}
}

// The outputs a workflow branches on: a first publish uploads and proves
// every instance; the same publish again uploads nothing and still proves
// every instance; verify uploads nothing.
func TestUploadedAndProven(t *testing.T) {
	fx := fixture(t)
	b := newVersioned(t.TempDir())
	n := len(sample.Instances)
	for i, want := range []bool{true, false} {
		res := parsed(t, fx, config.Publish, "--s3-bucket", "b").(*publishOptions).publishTo(context.Background(), b, nil)
		if !res.OK() {
			t.Fatalf("publish %d: %v", i+1, res.Problems)
		}
		if res.Uploaded() != want || res.Proven() != n {
			t.Errorf("publish %d: uploaded %v, proven %d; want %v, %d (statuses %v)", i+1, res.Uploaded(), res.Proven(), want, n, statuses(res))
		}
	}
	o := parsed(t, fx, config.Verify, "--s3-bucket", "b").(*verifyOptions)
	o.in.Instances, _ = plan.LoadInstances(o.in.InstancesFile)
	res := o.verifyIn(context.Background(), b, nil)
	if !res.OK() || res.Uploaded() || res.Proven() != n {
		t.Errorf("verify: ok %v uploaded %v proven %d\n%v", res.OK(), res.Uploaded(), res.Proven(), res.Problems)
	}
}

// versioned is a bucket.Dir that hands out version ids, as a versioned S3
// bucket does, and counts the writes of each object name. It keeps only the
// current version of a key: an older one is not found.
type versioned struct {
	dir     bucket.Dir
	mu      sync.Mutex
	next    int
	current map[string]string
	puts    map[string]int // object name (last key segment) -> Put calls
	copies  map[string]int // object name -> Copy calls
}

func newVersioned(dir string) *versioned {
	return &versioned{dir: bucket.Dir(dir), current: map[string]string{}, puts: map[string]int{}, copies: map[string]int{}}
}

func (v *versioned) stamp(key string, obj bucket.Object, count map[string]int) bucket.Object {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.next++
	v.current[key] = "v" + strconv.Itoa(v.next)
	count[path.Base(key)]++
	obj.VersionID = v.current[key]
	return obj
}

func (v *versioned) check(key, versionID string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if versionID != "" && versionID != v.current[key] {
		return fmt.Errorf("%s version %s: %w", key, versionID, bucket.ErrNotFound)
	}
	return nil
}

func (v *versioned) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (bucket.Object, error) {
	obj, err := v.dir.Put(ctx, key, body, size, sum)
	if err != nil {
		return obj, err
	}
	return v.stamp(key, obj, v.puts), nil
}

func (v *versioned) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	if err := v.check(key, versionID); err != nil {
		return nil, bucket.Object{}, err
	}
	rc, obj, err := v.dir.Get(ctx, key, "")
	v.mu.Lock()
	obj.VersionID = v.current[key]
	v.mu.Unlock()
	return rc, obj, err
}

func (v *versioned) Head(ctx context.Context, key, versionID string) (bucket.Object, error) {
	if err := v.check(key, versionID); err != nil {
		return bucket.Object{}, err
	}
	obj, err := v.dir.Head(ctx, key, "")
	v.mu.Lock()
	obj.VersionID = v.current[key]
	v.mu.Unlock()
	return obj, err
}

func (v *versioned) Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (bucket.Object, error) {
	if err := v.check(srcKey, srcVersion); err != nil {
		return bucket.Object{}, err
	}
	obj, err := v.dir.Copy(ctx, srcKey, "", dstKey)
	if err != nil {
		return obj, err
	}
	return v.stamp(dstKey, obj, v.copies), nil
}

func (v *versioned) Delete(ctx context.Context, key, versionID string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if versionID != "" && versionID != v.current[key] {
		return nil
	}
	delete(v.current, key)
	return v.dir.Delete(ctx, key, "")
}

// Publish reuses a repo-seeds archive already in the bucket for an unchanged
// tree: an instance published for the first time gets it by a server-side
// copy of the published version, and nothing is uploaded again.
func TestPublishReusesPublishedSeeds(t *testing.T) {
	fx := fixture(t)
	b := newVersioned(t.TempDir())
	first, rest := sample.Instances[0], sample.Instances[1:]

	res := parsed(t, fx, config.Publish, "--s3-bucket", "b", "--instances", first).(*publishOptions).publishTo(context.Background(), b, nil)
	if !res.OK() || res.Mode != result.Publish || statuses(res)[result.Uploaded] != 2 {
		t.Fatalf("first publish: ok %v, statuses %v\n%v", res.OK(), statuses(res), res.Problems)
	}
	if b.puts[layout.SeedsObject] != 1 || b.copies[layout.SeedsObject] != 0 {
		t.Fatalf("first publish: repo-seeds put %d times, copied %d times; want 1 put", b.puts[layout.SeedsObject], b.copies[layout.SeedsObject])
	}

	res = parsed(t, fx, config.Publish, "--s3-bucket", "b").(*publishOptions).publishTo(context.Background(), b, nil)
	if !res.OK() || len(res.Instances) != len(sample.Instances) {
		t.Fatalf("second publish: ok %v\n%v", res.OK(), res.Problems)
	}
	if got := b.puts[layout.SeedsObject]; got != 1 {
		t.Errorf("repo-seeds put %d times in all, want 1: the published archive was not reused", got)
	}
	if got := b.copies[layout.SeedsObject]; got != len(rest) {
		t.Errorf("repo-seeds copied %d times, want %d (one per new instance)", got, len(rest))
	}
	for _, in := range res.Instances {
		want := result.Uploaded
		if in.Instance == first {
			want = result.Unchanged
		}
		for _, o := range in.Objects {
			if o.Status != want || !o.Verified {
				t.Errorf("%s %s: status %s verified %v, want %s and verified", in.Instance, o.Name, o.Status, o.Verified, want)
			}
		}
	}
}

func optionNamed(name string) config.Option { opt, _ := config.Lookup(name); return opt }

// Every option the table gives a command (in --help, in action.yml) is
// bound to the field that reads it, and nothing else is: no option is
// parsed into nowhere. (json belongs to the terminal presenter and
// age-key-file is read into age-key.)
func TestBindingsCoverTheTable(t *testing.T) {
	bound := map[string]config.Bindings{config.Install: (&installOptions{}).bindings()}
	for _, m := range config.ActionModes {
		bound[m] = newMode(m).bindings()
	}
	for cmd, b := range bound {
		want := map[string]bool{}
		for _, o := range config.Options {
			if o.AppliesTo(cmd) && !o.ActionOnly && o.Name != "json" && o.Name != "age-key-file" {
				want[o.Name] = true
			}
		}
		for name, dst := range b {
			// install reads --json itself; the modes' presenter binds it
			// elsewhere.
			if !want[name] && !(name == "json" && optionNamed(name).AppliesTo(cmd)) {
				t.Errorf("%s binds %s, which the table does not give it", cmd, name)
			}
			o, _ := config.Lookup(name)
			ok := false
			switch dst.(type) {
			case *bool:
				ok = o.Bool
			case *[]string:
				ok = o.List
			case *[]byte:
				ok = o.Secret && !o.Bool && !o.List
			case *string:
				ok = !o.Bool && !o.List
			}
			if !ok {
				t.Errorf("%s binds %s to a %T", cmd, name, dst)
			}
			delete(want, name)
		}
		for name := range want {
			t.Errorf("%s leaves option %s unbound", cmd, name)
		}
	}
}

// verify refuses a plan as plan does, naming the instances file as it
// was given, and still checks every instance it selected.
func TestVerifySelectsThroughPlan(t *testing.T) {
	fx := fixture(t)
	out := filepath.Join(t.TempDir(), "out")
	if res, err := parsed(t, fx, config.Assemble, "--out", out).run(context.Background(), nil); err != nil || !res.OK() {
		t.Fatalf("assemble: %v %v", err, res.Problems)
	}
	res, err := parsed(t, fx, config.Verify, "--dir", out, "--instances", "clawdinator-1,clawdinator-9").run(context.Background(), nil)
	if err != nil || res.OK() || len(res.Instances) != 1 || !res.Instances[0].Verified {
		t.Fatalf("verify: %v ok %v, instances %+v", err, res.OK(), res.Instances)
	}
	if errs := res.Problems.Errors(); len(errs) != 1 || errs[0].Instance != "clawdinator-9" || !strings.Contains(errs[0].Message, "not in the instances file") {
		t.Errorf("problems %v, want clawdinator-9 not in the instances file", res.Problems)
	}
	res, err = parsed(t, fx, config.Verify, "--dir", out, "--instances", "clawdinator-1", "--exclude-secrets", "clawdinator-discord-token-2.age").run(context.Background(), nil)
	if err != nil || res.OK() {
		t.Fatalf("verify: %v ok %v", err, res.OK())
	}
	if errs := res.Problems.Errors(); len(errs) != 1 || errs[0].File != fx.InstancesFile || !strings.Contains(errs[0].Message, "matches exclude-secrets") {
		t.Errorf("problems %v, want one naming %s", res.Problems, fx.InstancesFile)
	}
}
