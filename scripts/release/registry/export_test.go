package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestExport pushes a two-platform OCI index and exports it: the tag's
// digest, the media type, each image's platform, config and flattened
// filesystem, as the registry holds them.
func TestExport(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/openclaw/clawdinator-bundle"

	platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	var idx v1.ImageIndex = empty.Index
	var imgs []v1.Image
	for _, p := range platforms {
		img, err := random.Image(512, 2)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	tag, err := name.NewTag(repo+":v0.0.0-test", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if err := export(repo+"@"+digest.String(), "v0.0.0-test", dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ex Exported
	if err := json.Unmarshal(data, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.TagDigest != digest.String() || ex.MediaType != string(types.OCIImageIndex) || len(ex.Images) != 2 {
		t.Fatalf("exported %s", data)
	}
	for i, got := range ex.Images {
		want, _ := imgs[i].Digest()
		if got.Digest != want.String() || got.Platform == nil || got.Platform.OS != platforms[i].OS || got.Platform.Architecture != platforms[i].Architecture {
			t.Errorf("image %d: %s %+v, want %s %+v", i, got.Digest, got.Platform, want, platforms[i])
		}
		cfg, _ := imgs[i].RawConfigFile()
		var compact bytes.Buffer
		if err := json.Compact(&compact, got.Config); err != nil || !bytes.Equal(compact.Bytes(), cfg) {
			t.Errorf("image %d: config %s, want %s", i, got.Config, cfg)
		}
		fs, err := os.ReadFile(filepath.Join(dir, got.RootFS))
		if err != nil {
			t.Fatal(err)
		}
		wantFS, err := io.ReadAll(mutate.Extract(imgs[i]))
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 || !bytes.Equal(fs, wantFS) {
			t.Errorf("image %d: filesystem of %d bytes, want the %d of mutate.Extract", i, len(fs), len(wantFS))
		}
	}
}

// export reads from loopback only, as serve listens there only.
func TestExportRefusesNonLoopback(t *testing.T) {
	ref := "192.0.2.1:5000/openclaw/clawdinator-bundle@sha256:" + strings.Repeat("0", 64)
	if err := export(ref, "", t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("export(%q): %v, want a refusal", ref, err)
	}
}
