package result_test

import (
	"encoding/json"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// A result's object is the manifest's object plus what the run did: in
// JSON, the manifest's fields in their order, then status and verified; an
// object left in place says so by its status in a result, and by
// "unchanged" in a manifest.
func TestObjectJSON(t *testing.T) {
	o := result.Object{
		Object: manifest.Object{Name: "repo-seeds.tar.zst", Key: "p/repo-seeds.tar.zst", Size: 7, SHA256: "ab", VersionID: "v1", TarSHA256: "cd"},
		Status: result.Unchanged, Verified: true, Before: "v0",
	}
	got, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"repo-seeds.tar.zst","key":"p/repo-seeds.tar.zst","size":7,"sha256":"ab","versionId":"v1","tarSha256":"cd","status":"unchanged","verified":true}`
	if string(got) != want {
		t.Errorf("result object JSON:\n got %s\nwant %s", got, want)
	}
	got, err = json.Marshal(o.Manifested())
	if err != nil {
		t.Fatal(err)
	}
	const wantManifest = `{"name":"repo-seeds.tar.zst","key":"p/repo-seeds.tar.zst","size":7,"sha256":"ab","versionId":"v1","tarSha256":"cd","unchanged":true}`
	if string(got) != wantManifest {
		t.Errorf("manifest object JSON:\n got %s\nwant %s", got, wantManifest)
	}
	o.Status = result.Uploaded
	if o.Manifested().Unchanged {
		t.Error("an uploaded object is recorded as unchanged")
	}
}
