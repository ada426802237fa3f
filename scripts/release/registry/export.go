package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Exported is what export writes to DIR/index.json: an image index as the
// registry serves it, for a reader with no registry client.
type Exported struct {
	// TagDigest is the digest the tag asked for resolves to.
	TagDigest string `json:"tagDigest,omitempty"`
	// MediaType is the index's.
	MediaType string `json:"mediaType"`
	// Images are the index's manifests, in its order.
	Images []ExportedImage `json:"images"`
}

// ExportedImage is one manifest of the index.
type ExportedImage struct {
	Digest      string            `json:"digest"`
	Platform    *v1.Platform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Config is the image's configuration file, as stored.
	Config json.RawMessage `json:"config"`
	// RootFS names the file in DIR that holds the image's filesystem, its
	// layers applied in order, as a tar stream.
	RootFS string `json:"rootfs"`
}

// export reads the index ref names, on a registry on loopback, into dir.
func export(ref, tag, dir string) error {
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		return err
	}
	if err := loopback(d.RegistryStr()); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ex Exported
	if tag != "" {
		desc, err := remote.Head(d.Context().Tag(tag))
		if err != nil {
			return fmt.Errorf("tag %s: %w", tag, err)
		}
		ex.TagDigest = desc.Digest.String()
	}
	idx, err := remote.Index(d)
	if err != nil {
		return err
	}
	mt, err := idx.MediaType()
	if err != nil {
		return err
	}
	ex.MediaType = string(mt)
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	ex.Images = []ExportedImage{}
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			return fmt.Errorf("image %s: %w", m.Digest, err)
		}
		cfg, err := img.RawConfigFile()
		if err != nil {
			return fmt.Errorf("image %s: config: %w", m.Digest, err)
		}
		file := m.Digest.Hex + ".tar"
		if err := writeRootFS(img, filepath.Join(dir, file)); err != nil {
			return fmt.Errorf("image %s: filesystem: %w", m.Digest, err)
		}
		ex.Images = append(ex.Images, ExportedImage{
			Digest: m.Digest.String(), Platform: m.Platform, Annotations: m.Annotations,
			Config: cfg, RootFS: file,
		})
	}
	data, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), append(data, '\n'), 0o644)
}

// writeRootFS writes img's flattened filesystem to file.
func writeRootFS(img v1.Image, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
