package bundle_test

import (
	"archive/tar"
	"bytes"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// testKey is a fresh identity with the file a bundle carries for it.
type testKey struct {
	id   *age.X25519Identity
	key  *agekey.Key
	file []byte // clawdinator.agekey contents
}

func newKey(t testing.TB) testKey {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	k, err := agekey.Parse([]byte(id.String()))
	if err != nil {
		t.Fatal(err)
	}
	return testKey{id: id, key: k, file: k.Canonical()}
}

func encrypt(t testing.TB, plaintext []byte, to ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, to...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ent is one tar entry of a hand-made archive.
type ent struct {
	name string
	typ  byte
	mode int64
	body []byte
	link string
	// uid and gid are the owner stored in the header (0: root).
	uid, gid int
}

func reg(name string, body []byte) ent {
	return ent{name: name, typ: tar.TypeReg, mode: 0o400, body: body}
}
func dir(name string) ent { return ent{name: name, typ: tar.TypeDir, mode: 0o700} }

// tarBytes writes entries as an uncompressed tar, in the given order.
func tarBytes(t testing.TB, ents []ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: time.Unix(0, 0), Size: int64(len(e.body)), Uid: e.uid, Gid: e.gid}
		if e.typ == tar.TypeChar || e.typ == tar.TypeBlock {
			h.Devmajor, h.Devminor = 1, 3
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("header %q: %v", e.name, err)
		}
		if _, err := tw.Write(e.body); err != nil && h.Size > 0 {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zst compresses b as one zstd frame with a checksum, as the writer does.
func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderCRC(true), zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarZst(t testing.TB, ents []ent) []byte { return zst(t, tarBytes(t, ents)) }

// goodSecrets is a valid bundle layout for k: the names map to their
// plaintexts.
func goodEntries(t testing.TB, k testKey, names ...string) []ent {
	t.Helper()
	ents := []ent{reg(bundle.KeyEntry, k.file), dir(bundle.SecretsDir + "/")}
	for _, n := range names {
		ents = append(ents, reg(bundle.SecretsDir+"/"+n, encrypt(t, []byte("plain "+n), k.id.Recipient())))
	}
	return ents
}

// mentions fails unless some error-severity problem's text contains want.
func mentions(t testing.TB, probs problem.List, want string) {
	t.Helper()
	for _, p := range probs.Errors() {
		if bytes.Contains([]byte(p.String()), []byte(want)) {
			return
		}
	}
	t.Fatalf("no problem mentions %q; got %d:\n%s", want, len(probs), render(probs))
}

func render(probs problem.List) string {
	var b bytes.Buffer
	for _, p := range probs {
		b.WriteString("  ")
		b.WriteString(p.String())
		b.WriteString("\n")
	}
	return b.String()
}
