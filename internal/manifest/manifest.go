// Package manifest is the format of manifest.json, the index publish writes
// last under each instance's bootstrap prefix: which versions of the
// instance's objects were proven together, by which tool, from which
// commit. Its contract is docs/manifest.md.
package manifest

import (
	"encoding/json"
	"fmt"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// Format is the manifest's format version. Version 2 came with the
// statement inside secrets.tar.zst; a manifest of version 1 names a bundle
// without one, which this tool refuses (publish again).
const Format = 2

// Manifest records one instance's published bundle. It is written last, after
// both objects verified, so it always names versions that were proven good.
type Manifest struct {
	FormatVersion   int                 `json:"formatVersion"`
	Instance        string              `json:"instance"`
	BootstrapPrefix string              `json:"bootstrapPrefix"`
	Tool            Tool                `json:"tool,omitzero"`
	Source          Source              `json:"source,omitzero"`
	Recipient       string              `json:"recipient"`
	Objects         []Object            `json:"objects"`
	Secrets         []bundle.SecretInfo `json:"secrets"`
	// Statement is the statement inside the secrets archive the manifest
	// names, as a hint for the next publish: it is believed only when the
	// archive built from it has the store's checksum of that version
	// (docs/bundle.md).
	Statement *Statement `json:"statement,omitempty"`
}

// Tool names the program that wrote a manifest.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Source says which commit and workflow run produced a bundle.
type Source struct {
	Repository string `json:"repository,omitempty"`
	SHA        string `json:"sha,omitempty"`
	RunID      string `json:"runId,omitempty"`
}

// Object is one uploaded object as it was verified.
type Object struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	VersionID string `json:"versionId,omitempty"`
	// TarSHA256 is the digest of the uncompressed tar stream (repo seeds):
	// it lets a later run see the tree is unchanged without compressing it.
	TarSHA256 string `json:"tarSha256,omitempty"`
	// Unchanged is true when this run found the same bytes already in place
	// and did not upload them again.
	Unchanged bool `json:"unchanged,omitempty"`
}

// Object returns the entry named name, or nil.
func (m *Manifest) Object(name string) *Object {
	if m == nil {
		return nil
	}
	for i := range m.Objects {
		if m.Objects[i].Name == name {
			return &m.Objects[i]
		}
	}
	return nil
}

// SecretNames returns the names of the secrets the manifest lists.
func (m *Manifest) SecretNames() []string {
	names := make([]string, len(m.Secrets))
	for i, s := range m.Secrets {
		names[i] = s.Name
	}
	return names
}

// Parse decodes a manifest and checks its format version.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("invalid manifest JSON: %w", err)
	}
	if m.FormatVersion < Format {
		return nil, fmt.Errorf("manifest formatVersion %d was written by an older clawdinator-bundle, before bundles carried a statement: publish again", m.FormatVersion)
	}
	if m.FormatVersion != Format {
		return nil, fmt.Errorf("unsupported manifest formatVersion %d (this tool reads %d)", m.FormatVersion, Format)
	}
	return &m, nil
}
