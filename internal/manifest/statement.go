package manifest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// StatementFormat names the statement's format, the one Marshal writes.
// A reader accepts it and, as sequence 0, the exact canonical form of
// StatementFormatV1; it refuses any other.
const StatementFormat = "clawdinator-bundle statement v2"

// StatementFormatV1 is the format before statements carried a sequence and
// a content digest of the seeds. ParseStatement still reads it, as
// sequence 0 with no content digest, so that hosts upgraded first keep
// accepting bundles published before the upgrade.
const StatementFormatV1 = "clawdinator-bundle statement v1"

// Statement is what the key vouches for: it travels inside secrets.tar.zst
// (as bundle.StatementEntry), next to the identity, so whoever can replace
// it can also read the key. It binds one instance's bundle together: its
// prefix, every secret by the SHA-256 of its ciphertext, and the
// repo-seeds object that goes with it. It holds nothing run-specific: the
// same inputs give the same bytes (docs/bundle.md).
type Statement struct {
	Format          string `json:"format"`
	Instance        string `json:"instance"`
	BootstrapPrefix string `json:"bootstrapPrefix"`
	// Sequence orders one instance's statements: it only grows from one
	// publish to the next (docs/bundle.md). Version 2 requires at least 1;
	// a version 1 statement reads as 0.
	Sequence  uint64              `json:"sequence"`
	Secrets   []bundle.SecretInfo `json:"secrets"`
	RepoSeeds Seeds               `json:"repoSeeds"`
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
	// ContentSHA256 is the content digest of the seeds tree (what git
	// holds, not how a clone happened to store it: docs/bundle.md). Empty
	// in a version 1 statement.
	ContentSHA256 string `json:"contentSha256"`
}

// statementV1 is the layout of a version 1 statement, for its canonical
// form.
type statementV1 struct {
	Format          string              `json:"format"`
	Instance        string              `json:"instance"`
	BootstrapPrefix string              `json:"bootstrapPrefix"`
	Secrets         []bundle.SecretInfo `json:"secrets"`
	RepoSeeds       seedsV1             `json:"repoSeeds"`
}

type seedsV1 struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	TarSHA256 string `json:"tarSha256"`
}

// Marshal returns the statement's canonical bytes in the current format
// (StatementFormat, whatever s.Format says): secrets sorted by name,
// indented JSON, a final newline.
func (s Statement) Marshal() []byte {
	s.Format = StatementFormat
	s.Secrets = sortedSecrets(s.Secrets)
	return marshal(s)
}

// marshalV1 is the canonical form of s as a version 1 statement.
func (s Statement) marshalV1() []byte {
	r := s.RepoSeeds
	return marshal(statementV1{
		Format: StatementFormatV1, Instance: s.Instance, BootstrapPrefix: s.BootstrapPrefix,
		Secrets:   sortedSecrets(s.Secrets),
		RepoSeeds: seedsV1{Key: r.Key, Size: r.Size, SHA256: r.SHA256, TarSHA256: r.TarSHA256},
	})
}

func sortedSecrets(in []bundle.SecretInfo) []bundle.SecretInfo {
	out := append([]bundle.SecretInfo(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func marshal(v any) []byte {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("manifest: marshal statement: " + err.Error()) // only strings and ints
	}
	return append(data, '\n')
}

// WithoutSequence returns the statement with its sequence cleared: two
// statements that are equal without their sequence say the same thing
// about the bundle.
func (s Statement) WithoutSequence() Statement {
	s.Sequence = 0
	return s
}

// ParseStatement decodes a statement strictly: a known format, no unknown
// fields, digests as 64 lowercase hex digits, and nothing after it. A
// version 2 statement has a sequence of at least 1 and a content digest; a
// version 1 statement is accepted only in its exact canonical form, and
// returned with Sequence 0 and no ContentSHA256.
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
	v1 := s.Format == StatementFormatV1
	if s.Format != StatementFormat && !v1 {
		return nil, fmt.Errorf("unknown statement format %q (this tool reads %q and %q)", s.Format, StatementFormat, StatementFormatV1)
	}
	digests := []string{s.RepoSeeds.SHA256, s.RepoSeeds.TarSHA256}
	if !v1 {
		if s.Sequence == 0 {
			return nil, fmt.Errorf("invalid statement: sequence must be at least 1")
		}
		digests = append(digests, s.RepoSeeds.ContentSHA256)
	}
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
	canonical := s.Marshal()
	if v1 {
		// Fields of version 2 in a version 1 statement are not in its
		// canonical form: refused here.
		canonical = s.marshalV1()
	}
	if !bytes.Equal(canonical, data) {
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
