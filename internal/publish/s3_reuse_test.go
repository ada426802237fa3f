package publish_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

// An unchanged repo-seeds tree is hashed, not compressed again: the bkt
// already holds an archive of it. An instance whose copy was overwritten
// behind the tool's back gets a server-side copy of a good one; a changed
// tree is compressed and uploaded as usual.
func TestPublishReusesSeedsInBucket(t *testing.T) {
	srv := s3test.Start(t)
	bkt := s3Bucket(t, srv)
	st := s3Open(t, srv, bkt)
	f := s3NewFixture(t)
	first := s3Publish(t, st, f)
	good := first.Instances[0].Objects[1]
	if good.Name != "repo-seeds.tar.zst" || good.TarSHA256 == "" {
		t.Fatalf("first publish: seeds object %+v has no tar digest", good)
	}

	s3Upload(t, srv, bkt, "bootstrap/clawdinator-2/repo-seeds.tar.zst", []byte("junk"))

	instances, probs := plan.LoadInstances(f.InstancesFile)
	if len(probs) > 0 {
		t.Fatal(s3Render(probs))
	}
	in := f.load()
	key, err := agekey.Parse(f.Key)
	if err != nil {
		t.Fatal(err)
	}
	in.Published = publish.FindCurrent(context.Background(), st, instances, key, 0)
	prep := s3Prepare(t, in)
	if prep.Seeds.Source == nil || prep.OpenSeeds() != nil || prep.Seeds.Source.SHA256 != good.SHA256 {
		t.Fatal("an unchanged tree was compressed again")
	}
	res := publish.Publish(context.Background(), prep, s3Options(st))
	s3RequireClean(t, "publish over a tampered repo-seeds", res)
	for _, ir := range res.Instances {
		seeds := ir.Objects[1]
		want := result.Unchanged
		if ir.Instance == "clawdinator-2" {
			want = result.Uploaded // copied on the server from a good instance
		}
		if seeds.Status != want || seeds.SHA256 != good.SHA256 || !seeds.Verified {
			t.Errorf("%s: seeds %+v, want %s with sha256 %s", ir.Instance, seeds, want, good.SHA256)
		}
	}
	s3RequireClean(t, "verify", s3Verify(t, st, f, f.Recipient))

	// A changed tree: no reuse, a new archive everywhere.
	if err := os.WriteFile(filepath.Join(f.SeedsDir, "openclaw", "NEW"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.Published = publish.FindCurrent(context.Background(), st, instances, key, 0)
	prep = s3Prepare(t, in)
	if prep.Seeds.Source != nil || prep.Seeds.TarSHA256 == good.TarSHA256 {
		t.Fatal("a changed tree was taken for the published one")
	}
	res = publish.Publish(context.Background(), prep, s3Options(st))
	s3RequireClean(t, "publish of a changed tree", res)
	for _, ir := range res.Instances {
		if s := ir.Objects[1]; s.Status != result.Uploaded || s.SHA256 == good.SHA256 {
			t.Errorf("%s: seeds %+v after a change", ir.Instance, s)
		}
	}
	s3RequireClean(t, "verify after the change", s3Verify(t, st, f, f.Recipient))
}
