package agekey

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	agetest "c2sp.org/CCTV/age"
)

// minVectors is how many CCTV vectors must run, so that the vector test
// cannot pass by skipping everything. The pinned module has 147 vectors, of
// which 25 use only a passphrase.
const minVectors = 120

// vector is one CCTV age test vector: a header of expectations, then the
// file. See the README of c2sp.org/CCTV/age.
type vector struct {
	expect      string
	payloadHash []byte
	identities  []string // AGE-SECRET-KEY-… lines
	passphrases int
	armored     bool
	unknown     string // an unknown header key: the vector must be ignored
	file        []byte
}

func parseVector(data []byte) (*vector, error) {
	v := &vector{}
	rest := data
	compressed := false
	for {
		line, r, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return nil, errors.New("no blank line before the file")
		}
		rest = r
		if len(line) == 0 {
			break
		}
		key, value, _ := strings.Cut(string(line), ": ")
		switch key {
		case "expect":
			switch value {
			case "success", "HMAC failure", "header failure", "armor failure", "payload failure", "no match":
			default:
				return nil, fmt.Errorf("unknown expect value %q", value)
			}
			v.expect = value
		case "payload":
			h, err := hex.DecodeString(value)
			if err != nil || len(h) != sha256.Size {
				return nil, fmt.Errorf("bad payload hash %q", value)
			}
			v.payloadHash = h
		case "identity":
			v.identities = append(v.identities, value)
		case "passphrase":
			v.passphrases++
		case "armored":
			v.armored = true
		case "compressed":
			if value != "zlib" {
				return nil, fmt.Errorf("unknown compression %q", value)
			}
			compressed = true
		case "file key", "comment":
		default:
			v.unknown = key
		}
	}
	if v.expect == "" {
		return nil, errors.New("no expect line")
	}
	v.file = rest
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(rest))
		if err != nil {
			return nil, err
		}
		if v.file, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// readVectors returns every CCTV vector by name.
func readVectors(t testing.TB) (names []string, vectors map[string]*vector) {
	t.Helper()
	entries, err := fs.ReadDir(agetest.Vectors, ".")
	if err != nil {
		t.Fatal(err)
	}
	vectors = map[string]*vector{}
	for _, e := range entries {
		data, err := fs.ReadFile(agetest.Vectors, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		v, err := parseVector(data)
		if err != nil {
			t.Fatalf("vector %s: %v", e.Name(), err)
		}
		names = append(names, e.Name())
		vectors[e.Name()] = v
	}
	return names, vectors
}

// vectorReasons is what each CCTV expectation must turn into. The vectors
// say where age fails; Check says why in an operator's terms, so a "header
// failure" may also be an empty file.
var vectorReasons = map[string][]Reason{
	"no match":        {NoMatch},
	"HMAC failure":    {Header},
	"header failure":  {Header, Empty},
	"armor failure":   {Armor},
	"payload failure": {Payload},
}

// vectorOverrides lists the vectors whose reason differs from their
// expectation's. The spec's payload starts with the nonce, and a file cut
// short there is truncated: CCTV counts a missing nonce as a header failure
// only because age.Decrypt fails before it returns a reader.
var vectorOverrides = map[string][]Reason{
	"stream_no_nonce":    {Payload},
	"stream_short_nonce": {Payload},
}

// TestCCTVVectors runs Check on every CCTV vector that uses X25519 or
// hybrid identities and asserts it succeeds exactly when the vector expects
// success, with the expected plaintext going through to EOF.
func TestCCTVVectors(t *testing.T) {
	names, vectors := readVectors(t)
	var ran, passphraseOnly, unknown int
	for _, name := range names {
		v := vectors[name]
		switch {
		case v.unknown != "":
			unknown++
			t.Logf("%s: ignored, unknown header key %q", name, v.unknown)
			continue
		case v.passphrases > 0 && len(v.identities) == 0:
			passphraseOnly++
			t.Run(name, func(t *testing.T) { testPassphraseVector(t, v) })
			continue
		}
		ran++
		want := vectorReasons[v.expect]
		if o, ok := vectorOverrides[name]; ok {
			want = o
		}
		t.Run(name, func(t *testing.T) { testVector(t, v, want) })
	}
	t.Logf("CCTV vectors: %d run, %d skipped as unsupported (passphrase only), %d ignored (unknown keys), %d total",
		ran, passphraseOnly, unknown, len(names))
	if ran+passphraseOnly+unknown != len(names) {
		t.Errorf("counted %d vectors of %d", ran+passphraseOnly+unknown, len(names))
	}
	if ran < minVectors {
		t.Errorf("only %d CCTV vectors ran, want at least %d", ran, minVectors)
	}
}

func testVector(t *testing.T, v *vector, want []Reason) {
	var keys []*Key
	switch len(v.identities) {
	case 0:
		// The file fails before any key is tried (an empty file, say):
		// any key will do.
		keys = append(keys, newX25519(t).key)
	case 1:
		k, err := Parse([]byte(v.identities[0]))
		if err != nil {
			t.Fatalf("Parse of the vector's identity: %v", err)
		}
		// The same identity pasted with comments, CRLF and spaces.
		pasted := "# from the CCTV vectors\r\n\r\n  " + v.identities[0] + " \r\n"
		k2, err := Parse([]byte(pasted))
		if err != nil {
			t.Fatalf("Parse of the pasted identity: %v", err)
		}
		if !bytes.Equal(k.Canonical(), k2.Canonical()) {
			t.Fatal("the pasted identity parses to a different key")
		}
		keys = append(keys, k)
	default:
		_, err := Parse([]byte(strings.Join(v.identities, "\n")))
		if !errors.Is(err, ErrMultipleIdentities) {
			t.Errorf("Parse of %d identities: %v", len(v.identities), err)
		}
		for _, id := range v.identities {
			k, err := Parse([]byte(id))
			if err != nil {
				t.Fatalf("Parse of one of the vector's identities: %v", err)
			}
			keys = append(keys, k)
		}
		if v.expect == "success" {
			t.Fatal("a success vector with several identities: unsupported")
		}
	}

	// With several identities, each key alone must fail, and at least one
	// for the expected reason: a key of the other type just finds no
	// stanza for it.
	matched := false
	for _, k := range keys {
		h := sha256.New()
		n, err := check(bytes.NewReader(v.file), k, h)
		if n < 0 || n > int64(len(v.file)) {
			t.Errorf("read %d bytes of %d", n, len(v.file))
		}
		if v.expect == "success" {
			if err != nil {
				t.Fatalf("expected success, got %v", err)
			}
			if !bytes.Equal(h.Sum(nil), v.payloadHash) {
				t.Error("payload hash mismatch")
			}
			if n != int64(len(v.file)) {
				t.Errorf("ciphertextSize = %d, want %d", n, len(v.file))
			}
			continue
		}
		if err == nil {
			t.Fatalf("expected %s, got success", v.expect)
		}
		de := asDecryptError(t, err)
		if slices.Contains(want, de.Reason) {
			matched = true
		} else {
			t.Logf("reason %v: %v", de.Reason, err)
		}
		for _, id := range v.identities {
			assertNoSecret(t, err.Error(), id)
		}
	}
	if v.expect != "success" && !matched {
		t.Errorf("expected %s (reason %v), got other reasons", v.expect, want)
	}
}

// testPassphraseVector covers vectors that only hold a passphrase: Check
// cannot use a passphrase, so they are not counted as run, but a file
// encrypted with one must never pass, whatever the key.
func testPassphraseVector(t *testing.T, v *vector) {
	_, err := Check(bytes.NewReader(v.file), newX25519(t).key)
	if err == nil {
		t.Fatal("a passphrase file passed the check")
	}
	de := asDecryptError(t, err)
	// A misspelled stanza type ("Scrypt") is just not a stanza for this key.
	if de.Reason != Passphrase && de.Reason != Header && de.Reason != NoMatch {
		t.Errorf("got reason %v: %v", de.Reason, err)
	}
}
