package manifest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// StatementFormat names the statement's format. A reader refuses any other.
const StatementFormat = "clawdinator-bundle statement v1"

// Statement is what the key vouches for: it travels inside secrets.tar.zst
// (as bundle.StatementEntry), next to the identity, so whoever can replace
// it can also read the key. It binds one instance's bundle together: its
// prefix, every secret by the SHA-256 of its ciphertext, and the
// repo-seeds object that goes with it. It holds nothing run-specific: the
// same inputs give the same bytes (docs/bundle.md).
type Statement struct {
	Format          string              `json:"format"`
	Instance        string              `json:"instance"`
	BootstrapPrefix string              `json:"bootstrapPrefix"`
	Secrets         []bundle.SecretInfo `json:"secrets"`
	RepoSeeds       Seeds               `json:"repoSeeds"`
}

// Seeds names the repo-seeds object of an instance by its bytes.
type Seeds struct {
	// Key is the object's key in the bucket.
	Key  string `json:"key"`
	Size int64  `json:"size"`
	// SHA256 is the digest of the compressed object, as stored.
	SHA256 string `json:"sha256"`
	// TarSHA256 is the digest of the uncompressed tar stream.
	TarSHA256 string `json:"tarSha256"`
}

// Marshal returns the statement's canonical bytes: secrets sorted by name,
// indented JSON, a final newline.
func (s Statement) Marshal() []byte {
	s.Format = StatementFormat
	s.Secrets = append([]bundle.SecretInfo(nil), s.Secrets...)
	sort.Slice(s.Secrets, func(i, j int) bool { return s.Secrets[i].Name < s.Secrets[j].Name })
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("manifest: marshal statement: " + err.Error()) // only strings and ints
	}
	return append(data, '\n')
}

// ParseStatement decodes a statement strictly: the known format, no
// unknown fields, digests as 64 lowercase hex digits, and nothing after it.
// A statement that parses is not yet proven: it is proven by the key of
// the archive it came from.
func ParseStatement(data []byte) (*Statement, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Statement
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("invalid statement JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("invalid statement JSON: data after the statement")
	}
	if s.Format != StatementFormat {
		return nil, fmt.Errorf("unknown statement format %q (this tool reads %q)", s.Format, StatementFormat)
	}
	digests := []string{s.RepoSeeds.SHA256, s.RepoSeeds.TarSHA256}
	for _, sec := range s.Secrets {
		digests = append(digests, sec.SHA256)
	}
	for _, d := range digests {
		if !isDigest(d) {
			return nil, fmt.Errorf("invalid statement: %q is not a SHA-256 digest", d)
		}
	}
	if s.Instance == "" || s.BootstrapPrefix == "" || s.RepoSeeds.Key == "" || s.RepoSeeds.Size <= 0 {
		return nil, fmt.Errorf("invalid statement: instance, bootstrapPrefix and repoSeeds must be set")
	}
	if !bytes.Equal(s.Marshal(), data) {
		return nil, fmt.Errorf("invalid statement: not in canonical form")
	}
	return &s, nil
}

func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && s == hexLower(s)
}

func hexLower(s string) string {
	b, _ := hex.DecodeString(s)
	return hex.EncodeToString(b)
}
