package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// TestS3 publishes the sample workload to versitygw, proves it with
// independent clients, then tampers with the bkt behind the tool's back
// and requires verify to name what a host would trip over. One server for
// every case, one bkt per case.
func TestS3(t *testing.T) {
	srv := s3test.Start(t)
	t.Run("independent clients read what publish wrote", func(t *testing.T) {
		t.Parallel()
		s3TestIndependent(t, srv)
	})
	t.Run("verify catches", func(t *testing.T) {
		t.Parallel()
		s3TestTamper(t, srv)
	})
	t.Run("changed secret", func(t *testing.T) {
		t.Parallel()
		s3TestChangedSecret(t, srv)
	})
	t.Run("failed manifest write keeps the previous manifest", func(t *testing.T) {
		t.Parallel()
		s3TestManifestWriteFails(t, srv)
	})
}

func s3TestIndependent(t *testing.T, srv *s3test.Server) {
	f := s3NewFixture(t)
	bkt := s3Bucket(t, srv)
	st := s3Open(t, srv, bkt)
	res := s3Publish(t, st, f)

	// Exactly the three objects under each instance's prefix.
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(string(s3AWS(t, srv, "s3", "ls", "--recursive", "s3://"+bkt+"/"))), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 4 {
			t.Fatalf("aws s3 ls: unexpected line %q", line)
		}
		keys = append(keys, fields[3])
	}
	var want []string
	for _, in := range sample.Instances {
		for _, o := range []string{"manifest.json", "repo-seeds.tar.zst", "secrets.tar.zst"} {
			want = append(want, "bootstrap/"+in+"/"+o)
		}
	}
	sort.Strings(keys)
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Fatalf("aws s3 ls --recursive:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}

	// One download of the whole bkt and one listing of the current
	// versions: every aws CLI run costs a Python start-up.
	all := t.TempDir()
	s3AWS(t, srv, "s3", "cp", "--recursive", "--only-show-errors", "s3://"+bkt+"/", all)
	var listing struct {
		Versions []struct {
			Key, VersionId string
			IsLatest       bool
		}
	}
	if err := json.Unmarshal(s3AWS(t, srv, "s3api", "list-object-versions", "--bucket", bkt, "--output", "json"), &listing); err != nil {
		t.Fatal(err)
	}
	current := map[string]string{}
	for _, v := range listing.Versions {
		if v.IsLatest {
			current[v.Key] = v.VersionId
		}
	}

	required := map[string]bool{}
	for _, r := range plan.DefaultRequired {
		required[r] = true
	}
	for i, in := range sample.Instances {
		ir := res.Instances[i]
		if ir.Instance != in || ir.Manifest == nil {
			t.Fatalf("result %d is %q, manifest %v", i, ir.Instance, ir.Manifest)
		}
		dir := filepath.Join(all, "bootstrap", in)

		// The manifest the aws CLI downloads is the one publish reports.
		data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := manifest.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Recipient != f.Recipient || m.Instance != in || m.Source.RunID != "7" {
			t.Errorf("%s: manifest %+v", in, m)
		}

		for _, name := range []string{layout.SecretsObject, layout.SeedsObject} {
			mo := m.Object(name)
			if mo == nil {
				t.Fatalf("%s: manifest has no %s", in, name)
			}
			if got := s3FileSHA256(t, filepath.Join(dir, name)); got != mo.SHA256 {
				t.Errorf("%s: %s downloaded by the aws CLI has sha256 %s, manifest says %s", in, name, got, mo.SHA256)
			}
			if current[mo.Key] != mo.VersionID || mo.VersionID == "" {
				t.Errorf("%s: current version of %s is %q, manifest says %q", in, mo.Key, current[mo.Key], mo.VersionID)
			}
		}

		// GNU tar unpacks the secrets as the host's bootstrap does.
		x := filepath.Join(dir, "x")
		if err := os.Mkdir(x, 0o700); err != nil {
			t.Fatal(err)
		}
		s3Exec(t, "tar", "--zstd", "-xf", filepath.Join(dir, layout.SecretsObject), "-C", x)
		top, err := os.ReadDir(x)
		if err != nil {
			t.Fatal(err)
		}
		// The statement sits beside the key; the boot script uses only the
		// key and secrets/, and ignores it.
		if len(top) != 3 || top[0].Name() != "clawdinator.agekey" || top[1].Name() != "clawdinator.bundle.json" || top[2].Name() != "secrets" {
			t.Fatalf("%s: archive top level is %v, want clawdinator.agekey, clawdinator.bundle.json and secrets/", in, top)
		}
		keyFile := filepath.Join(x, "clawdinator.agekey")
		s3RequireMode(t, keyFile, 0o400)
		s3RequireMode(t, filepath.Join(x, "secrets"), os.ModeDir|0o700)
		entries, err := os.ReadDir(filepath.Join(x, "secrets"))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range entries {
			got[e.Name()] = true
			s3RequireMode(t, filepath.Join(x, "secrets", e.Name()), 0o400)
		}
		for r := range required {
			if !got[r] {
				t.Errorf("%s: required secret %s missing", in, r)
			}
		}
		if !got[sample.TokenName(in)] {
			t.Errorf("%s: its own discord token is missing", in)
		}
		for name := range got {
			if !required[name] && name != sample.TokenName(in) {
				t.Errorf("%s: bundle holds %s (another instance's token or a CI-only secret)", in, name)
			}
		}

		// The age CLI decrypts every secret with the bundled key.
		for _, e := range entries {
			pt := s3Exec(t, "age", "--decrypt", "-i", keyFile, filepath.Join(x, "secrets", e.Name()))
			if string(pt) != sample.Canary+e.Name() {
				t.Errorf("%s: %s decrypts to %q", in, e.Name(), pt)
			}
		}

		// zstd and tar read the repo seeds with modes and links kept.
		tarFile := filepath.Join(dir, "seeds.tar")
		s3Exec(t, "zstd", "-q", "-d", filepath.Join(dir, layout.SeedsObject), "-o", tarFile)
		list := string(s3Exec(t, "tar", "-tvf", tarFile))
		for _, want := range []string{"openclaw/README.link -> README.md", "openclaw/docs/guide/up.md -> ../../README.md"} {
			if !strings.Contains(list, want) {
				t.Errorf("%s: repo-seeds listing lacks %q:\n%s", in, want, list)
			}
		}
		if !strings.Contains(list, "-rwxr-xr-x 0/0") || !strings.Contains(list, "openclaw/scripts/run.sh") {
			t.Errorf("%s: repo-seeds lost the executable mode:\n%s", in, list)
		}
	}

	s3RequireClean(t, "verify", s3Verify(t, st, f, f.Recipient))
}

func s3FileSHA256(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func s3RequireMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModeType | os.ModePerm); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, want)
	}
}

// s3TestTamper: each case starts from a fresh, verified publish, changes
// the bkt with the aws CLI (a writer that is not this tool and writes no
// manifest), and requires verify to report problems naming the instance
// and the object, while the other instances still verify.
func s3TestTamper(t *testing.T, srv *s3test.Server) {
	type env struct {
		t      *testing.T
		f      *s3Fixture
		bucket string
		st     *bucket.S3
		first  *result.Result
	}
	const target = "clawdinator-2"
	secretsKey := "bootstrap/" + target + "/" + layout.SecretsObject
	seedsKey := "bootstrap/" + target + "/" + layout.SeedsObject
	manifestOf := func(e env) *manifest.Manifest { return e.first.Instances[1].Manifest }

	cases := []struct {
		name     string
		object   string
		tamper   func(e env)
		patterns []string
		// expected, when set, is the recipient verify pins.
		pin bool
	}{{
		name:   "secrets overwritten with other bytes",
		object: secretsKey,
		tamper: func(e env) { s3Upload(e.t, srv, e.bucket, secretsKey, []byte("not a bundle")) },
		patterns: []string{
			`changed outside a publish \(drift or tampering\): current version \S+ is not the version \S+ the manifest names; unreadable archive`,
		},
	}, {
		name:   "repo-seeds overwritten with other bytes",
		object: seedsKey,
		tamper: func(e env) { s3Upload(e.t, srv, e.bucket, seedsKey, bytes.Repeat([]byte("x"), 535)) },
		patterns: []string{
			`changed outside a publish \(drift or tampering\): current version \S+ is not the version \S+ the manifest names`,
		},
	}, {
		name:   "secrets deleted (a delete marker in a versioned bucket)",
		object: secretsKey,
		tamper: func(e env) {
			s3AWS(e.t, srv, "s3api", "delete-object", "--bucket", e.bucket, "--key", secretsKey)
			// The data is still there under its version id: a delete
			// marker hides it from hosts, which is what verify must see.
			var v struct{ DeleteMarkers []struct{ Key string } }
			json.Unmarshal(s3AWS(e.t, srv, "s3api", "list-object-versions", "--bucket", e.bucket, "--prefix", secretsKey, "--output", "json"), &v)
			if len(v.DeleteMarkers) != 1 {
				e.t.Fatalf("delete-object left %d delete markers, want 1", len(v.DeleteMarkers))
			}
			mo := manifestOf(e).Object(layout.SecretsObject)
			if got := s3Fetch(e.t, e.st, secretsKey, mo.VersionID); got != mo.SHA256 {
				e.t.Errorf("the manifest's version is gone: sha256 %s", got)
			}
		},
		patterns: []string{`missing: a host booting now would fail to download it`},
	}, {
		name:   "repo-seeds deleted",
		object: seedsKey,
		tamper: func(e env) {
			s3AWS(e.t, srv, "s3api", "delete-object", "--bucket", e.bucket, "--key", seedsKey)
		},
		patterns: []string{`missing: a host booting now would fail to download it`},
	}, {
		// What the shell pipeline shipped unnoticed: one file encrypted to
		// a stale recipient, bundled with the right key and uploaded by a
		// run that checked nothing and wrote no manifest.
		name:   "one secret re-encrypted to another key",
		object: secretsKey,
		tamper: func(e env) {
			other, err := age.GenerateX25519Identity()
			if err != nil {
				e.t.Fatal(err)
			}
			k, err := agekey.Parse(e.f.Key)
			if err != nil {
				e.t.Fatal(err)
			}
			var files []bundle.SecretFile
			for _, n := range append(append([]string(nil), plan.DefaultRequired...), sample.TokenName(target)) {
				data, err := os.ReadFile(filepath.Join(e.f.SecretsDir, n))
				if err != nil {
					e.t.Fatal(err)
				}
				if n == "clawdinator-control-token.age" {
					p := filepath.Join(e.t.TempDir(), n)
					if err := sample.Encrypt(p, []byte(sample.Canary+n), other.Recipient()); err != nil {
						e.t.Fatal(err)
					}
					if data, err = os.ReadFile(p); err != nil {
						e.t.Fatal(err)
					}
				}
				files = append(files, bundle.SecretFile{Name: n, Data: data})
			}
			var buf bytes.Buffer
			if err := bundle.WriteSecrets(&buf, k.Canonical(), nil, files, e.f.in.Mtime); err != nil {
				e.t.Fatal(err)
			}
			s3Upload(e.t, srv, e.bucket, secretsKey, buf.Bytes())
		},
		patterns: []string{
			`current version \S+ is not the version \S+ the manifest names`,
			`clawdinator-control-token\.age`,
		},
	}, {
		// A whole, self-consistent bundle with another key, built by
		// another run of the tool and put in place without its manifest.
		name:   "bundle built with another key",
		object: secretsKey,
		pin:    true,
		tamper: func(e env) {
			other := s3NewFixture(e.t)
			prep := s3Prepare(e.t, other.load())
			s3Upload(e.t, srv, e.bucket, secretsKey, prep.Secrets[target].Data)
		},
		patterns: []string{
			`current version \S+ is not the version \S+ the manifest names`,
			`expected-recipient is age1`,
		},
	}, {
		// Restoring an older version (a rollback by copy) puts a bundle
		// that once verified back in place, but not the one the manifest
		// names: stale secrets on the next boot.
		name:   "an older version restored",
		object: secretsKey,
		tamper: func(e env) {
			old := manifestOf(e).Object(layout.SecretsObject).VersionID
			e.f.reencrypt(e.t, "clawdinator-control-token.age", sample.Canary+"rotated")
			s3Publish(e.t, e.st, e.f)
			s3AWS(e.t, srv, "s3api", "copy-object", "--bucket", e.bucket, "--key", secretsKey,
				"--copy-source", e.bucket+"/"+secretsKey+"?versionId="+old)
		},
		patterns: []string{
			`current version \S+ is not the version \S+ the manifest names`,
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := env{t: t, f: s3NewFixture(t), bucket: s3Bucket(t, srv)}
			e.st = s3Open(t, srv, e.bucket)
			e.first = s3Publish(t, e.st, e.f)
			s3RequireClean(t, "verify before tampering", s3Verify(t, e.st, e.f, e.f.Recipient))
			c.tamper(e)
			pin := ""
			if c.pin {
				pin = e.f.Recipient
			}
			s3RequireProblems(t, s3Verify(t, e.st, e.f, pin), target, c.object, c.patterns...)
		})
	}
}

// s3Hook is a Bucket that runs before() ahead of every manifest write; an
// error from it fails that write.
type s3Hook struct {
	bucket.Bucket
	before func(key string) error
}

func (h s3Hook) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (bucket.Object, error) {
	if path.Base(key) == layout.ManifestName {
		if err := h.before(key); err != nil {
			return bucket.Object{}, err
		}
	}
	return h.Bucket.Put(ctx, key, body, size, sum)
}

// s3TestChangedSecret: a changed secret is uploaded as a new version, the
// unchanged repo seeds are not, and until an instance's new manifest is
// written its previous manifest still names versions that download with
// the digests it lists.
func s3TestChangedSecret(t *testing.T, srv *s3test.Server) {
	f := s3NewFixture(t)
	bkt := s3Bucket(t, srv)
	st := s3Open(t, srv, bkt)
	first := s3Publish(t, st, f)

	f.reencrypt(t, "clawdinator-control-token.age", sample.Canary+"rotated")
	prev := map[string]*manifest.Manifest{}
	for _, in := range sample.Instances {
		prev[in], _ = s3ReadManifest(t, st, in)
	}
	checked := make(chan string, len(sample.Instances))
	hook := s3Hook{Bucket: st, before: func(key string) error {
		in := path.Base(path.Dir(key))
		m, _ := s3ReadManifest(t, st, in)
		if m.Object(layout.SecretsObject).VersionID != prev[in].Object(layout.SecretsObject).VersionID {
			t.Errorf("%s: the manifest changed before this run wrote it", in)
		}
		s3RequireGoodVersions(t, st, m)
		cur, err := st.Head(context.Background(), m.Object(layout.SecretsObject).Key, "")
		if err != nil {
			t.Errorf("%s: %v", in, err)
		} else if cur.VersionID == m.Object(layout.SecretsObject).VersionID {
			t.Errorf("%s: no new secrets version before the manifest write", in)
		}
		checked <- in
		return nil
	}}
	res := publish.Publish(context.Background(), s3Prepare(t, f.load()), s3Options(hook))
	s3RequireClean(t, "second publish", res)
	if len(checked) != len(sample.Instances) {
		t.Errorf("%d manifest writes seen, want %d", len(checked), len(sample.Instances))
	}

	for i, ir := range res.Instances {
		old := first.Instances[i].Manifest
		sec, seeds := ir.Manifest.Object(layout.SecretsObject), ir.Manifest.Object(layout.SeedsObject)
		if sec.VersionID == old.Object(layout.SecretsObject).VersionID || sec.SHA256 == old.Object(layout.SecretsObject).SHA256 || sec.Unchanged {
			t.Errorf("%s: secrets not uploaded as a new version: %+v", ir.Instance, sec)
		}
		if ir.Objects[0].Status != result.Uploaded || ir.Objects[1].Status != result.Unchanged {
			t.Errorf("%s: statuses %s, %s; want uploaded, unchanged", ir.Instance, ir.Objects[0].Status, ir.Objects[1].Status)
		}
		if seeds.VersionID != old.Object(layout.SeedsObject).VersionID || !seeds.Unchanged {
			t.Errorf("%s: repo-seeds uploaded again: %+v", ir.Instance, seeds)
		}
		cur, _ := s3ReadManifest(t, st, ir.Instance)
		if cur.Object(layout.SecretsObject).VersionID != sec.VersionID {
			t.Errorf("%s: the bucket's manifest is not the one written", ir.Instance)
		}
		// The old version stays downloadable: a rollback remains possible.
		s3RequireGoodVersions(t, st, old)
	}
	s3RequireClean(t, "verify", s3Verify(t, st, f, f.Recipient))
}

// s3TestManifestWriteFails: when the manifest write fails, the run could
// not complete (an operational error, exit 3) and the previous manifest is
// what the bkt holds, still naming good versions. Verify then reports
// the drift, and publishing again repairs it.
func s3TestManifestWriteFails(t *testing.T, srv *s3test.Server) {
	const target = "clawdinator-babelfish"
	f := s3NewFixture(t)
	bkt := s3Bucket(t, srv)
	st := s3Open(t, srv, bkt)
	s3Publish(t, st, f)
	_, before := s3ReadManifest(t, st, target)

	f.reencrypt(t, "clawdinator-telegram-allow-from.age", sample.Canary+"12345")
	hook := s3Hook{Bucket: st, before: func(key string) error {
		if strings.Contains(key, target) {
			return &bucket.Error{Op: "put", Bucket: bkt, Key: key, Kind: bucket.Unreachable, Err: context.DeadlineExceeded}
		}
		return nil
	}}
	res := publish.Publish(context.Background(), s3Prepare(t, f.load()), s3Options(hook))
	err := res.Err()
	if err == nil || !strings.Contains(err.Error(), target) || bucket.Classify(err) != bucket.Unreachable {
		t.Fatalf("Err() = %v; want the failed manifest write of %s", err, target)
	}
	if errs := res.Problems.Errors(); len(errs) > 0 {
		t.Errorf("an operational failure reported as problems:\n%s", s3Render(errs))
	}
	for _, ir := range res.Instances {
		if ir.Verified == (ir.Instance == target) {
			t.Errorf("%s: verified = %v", ir.Instance, ir.Verified)
		}
	}
	m, after := s3ReadManifest(t, st, target)
	if !bytes.Equal(before, after) {
		t.Fatalf("the previous manifest of %s was replaced", target)
	}
	s3RequireGoodVersions(t, st, m)

	s3RequireProblems(t, s3Verify(t, st, f, f.Recipient), target, "bootstrap/"+target+"/"+layout.SecretsObject,
		`current version \S+ is not the version \S+ the manifest names`)

	s3Publish(t, st, f)
	s3RequireClean(t, "verify after publishing again", s3Verify(t, st, f, f.Recipient))
}
