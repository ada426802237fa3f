package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

// s3Racer is another writer: when publish pulls back the secrets archive of
// one instance, it first puts other bytes at the same key, as a second
// pipeline publishing at the same moment would.
type s3Racer struct {
	bucket.Bucket
	target string
	once   sync.Once
	raced  bucket.Object
	err    error
}

func (r *s3Racer) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	if versionID != "" && key == "bootstrap/"+r.target+"/"+layout.SecretsObject {
		r.once.Do(func() {
			other := []byte("another writer's secrets archive")
			r.raced, r.err = r.Bucket.Put(ctx, key, bytes.NewReader(other), int64(len(other)), sha256.Sum256(other))
		})
	}
	return r.Bucket.Get(ctx, key, versionID)
}

// The pull-back proves the version this run wrote; a host downloads the
// current one. When another writer replaced it in between, the instance is
// not proven: its manifest is not written, and the racing version is left
// alone (it is not this run's to remove).
func TestS3RacingWriter(t *testing.T) {
	srv := s3test.Start(t)
	const target = "clawdinator-2"
	f := s3NewFixture(t)
	st := s3Open(t, srv, s3Bucket(t, srv))
	racer := &s3Racer{Bucket: st, target: target}
	res := publish.Publish(context.Background(), s3Prepare(t, f.load()), s3Options(racer))
	if racer.err != nil || racer.raced.VersionID == "" {
		t.Fatalf("the racing write did not happen: %v", racer.err)
	}
	key := "bootstrap/" + target + "/" + layout.SecretsObject
	s3RequireProblems(t, res, target, key, `another writer replaced it: current version \S+ is not the version \S+ this run wrote`)
	if _, _, err := st.Get(context.Background(), path.Join("bootstrap", target, layout.ManifestName), ""); err == nil {
		t.Errorf("%s: a manifest was written for an instance whose object another writer replaced", target)
	}
	cur, err := st.Head(context.Background(), key, "")
	if err != nil || cur.VersionID != racer.raced.VersionID {
		t.Errorf("current version after the run: %+v, %v; want the racing writer's %s untouched", cur, err, racer.raced.VersionID)
	}
	for _, in := range res.Instances {
		if in.Instance != target && (!in.Verified || in.Manifest == nil) {
			t.Errorf("%s: not published, though only %s was raced", in.Instance, target)
		}
	}
	if strings.Contains(s3Render(res.Problems), "rolled back") {
		t.Errorf("reported a rollback of the racing writer's version")
	}
}
