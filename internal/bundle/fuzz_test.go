package bundle_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// fuzzLimits keep each fuzz input cheap; the properties do not depend on
// the size of the caps.
var fuzzLimits = bundle.Limits{MaxUnpacked: 4 << 20, MaxEntries: 256, MaxWindow: 1 << 20}

// FuzzVerifySecrets: the bundle reader never panics, stays within its
// limits, never quotes plaintext, and when it accepts an archive an
// independent walk agrees that the archive has the bundle layout.
func FuzzVerifySecrets(f *testing.F) {
	k := newKey(f)
	other := newKey(f)
	good := goodEntries(f, k, secretNames...)
	with := func(extra ...ent) []ent { return append(append([]ent(nil), good...), extra...) }
	cipher := encrypt(f, []byte("PLAINTEXT-CANARY-fuzz"), k.id.Recipient())
	goodZst := tarZst(f, good)
	for _, ents := range [][]ent{
		good,
		with(reg("../clawdinator.agekey", k.file)),
		with(reg("/etc/passwd", nil)),
		with(ent{name: "secrets/link.age", typ: tar.TypeSymlink, link: "/etc/shadow"}),
		with(ent{name: "secrets/hard.age", typ: tar.TypeLink, link: bundle.KeyEntry}),
		with(ent{name: "secrets/null.age", typ: tar.TypeChar}),
		with(reg(bundle.KeyEntry, other.file)),
		good[1:],
		with(reg("extra", []byte("x"))),
		with(reg("secrets/notes.txt", []byte("x"))),
		with(dir("secrets/sub/"), reg("secrets/sub/x.age", cipher)),
		with(reg("secrets/stale.age", encrypt(f, []byte("x"), other.id.Recipient()))),
		with(reg("secrets/canary.age", cipher)),
		with(reg("secrets/bad.age", cipher[:len(cipher)-1])),
		{reg("./"+bundle.KeyEntry, k.file), dir("./secrets/"), reg("./secrets/a.age", cipher)},
	} {
		f.Add(tarZst(f, ents))
	}
	f.Add(goodZst[:len(goodZst)/2])
	flipped := bytes.Clone(goodZst)
	flipped[len(flipped)-2] ^= 1
	f.Add(flipped)
	f.Add(bomb(f, "secrets/x.age", 8<<20))
	f.Add([]byte{})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})

	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		c, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{Limits: &fuzzLimits})
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("one %d-byte input took %v", len(data), d)
		}
		for _, p := range probs {
			if strings.Contains(p.String(), "PLAINTEXT-CANARY") {
				t.Fatalf("a problem quotes plaintext: %s", p)
			}
		}
		if len(probs.Errors()) > 0 {
			return
		}
		if c == nil || c.Recipient == "" {
			t.Fatalf("accepted without a key: %+v", c)
		}
		if err := readContract(data); err != nil {
			t.Fatalf("accepted an archive an independent reader rejects: %v", err)
		}
	})
}

// FuzzVerifySecretsTar fuzzes the tar layer, which mutations of compressed
// bytes rarely reach intact: inputs are tar streams, compressed here.
func FuzzVerifySecretsTar(f *testing.F) {
	k := newKey(f)
	other := newKey(f)
	good := goodEntries(f, k, secretNames...)
	with := func(extra ...ent) []ent { return append(append([]ent(nil), good...), extra...) }
	for _, ents := range [][]ent{
		good,
		with(reg("secrets/../x.age", nil)),
		with(ent{name: "secrets/l.age", typ: tar.TypeSymlink, link: "../clawdinator.agekey"}),
		with(reg(bundle.KeyEntry, other.file)),
		with(reg("secrets/stale.age", encrypt(f, []byte("PLAINTEXT-CANARY-x"), other.id.Recipient()))),
		{reg("./"+bundle.KeyEntry, k.file), dir("./secrets/"), reg("./secrets/a.age", encrypt(f, []byte("PLAINTEXT-CANARY-y"), k.id.Recipient()))},
	} {
		f.Add(tarBytes(f, ents))
	}
	// Archives outside the tar dialect, shaped like a bundle.
	for _, mk := range []func(r *rawTar){
		func(r *rawTar) { r.pax('g', "uname=nobody") },
		func(r *rawTar) { r.gnuLong('L', "secrets/x.age") },
		func(r *rawTar) { r.pax('x', "uname=nobody") },
	} {
		r := &rawTar{}
		mk(r)
		r.entry(rawHdr{name: bundle.KeyEntry, typ: '0', mode: 0o400}, k.file)
		r.entry(rawHdr{name: "secrets/", typ: '5', mode: 0o700, uname: "nobody"}, nil)
		f.Add(r.end())
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		data := zst(t, raw)
		c, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{Limits: &fuzzLimits})
		for _, p := range probs {
			if strings.Contains(p.String(), "PLAINTEXT-CANARY") {
				t.Fatalf("a problem quotes plaintext: %s", p)
			}
		}
		if len(probs.Errors()) > 0 {
			return
		}
		if c == nil || c.Recipient == "" {
			t.Fatalf("accepted without a key: %+v", c)
		}
		if err := readContract(data); err != nil {
			t.Fatalf("accepted an archive an independent reader rejects: %v", err)
		}
	})
}

// readContract is an independent, simple reading of the contract: only
// clawdinator.agekey (file), secrets/ (dir) and secrets/*.age (files),
// each once, with the key present, owned by 0:0 without names, with
// permission bits only and no extended header records but the dialect's.
func readContract(data []byte) error {
	zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderMaxWindow(fuzzLimits.MaxWindow), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	tr := tar.NewReader(io.LimitReader(zr, fuzzLimits.MaxUnpacked))
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Mode&^0o777 != 0 {
			return fmt.Errorf("entry %q has owner %d:%d (%q/%q), mode %o", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.Mode)
		}
		for k := range h.PAXRecords {
			if k != "path" && k != "linkpath" && k != "size" && k != "mtime" {
				return fmt.Errorf("entry %q has the record %q", h.Name, k)
			}
		}
		name := strings.TrimSuffix(h.Name, "/")
		if seen[name] {
			return fmt.Errorf("%q twice", name)
		}
		seen[name] = true
		rest, inSecrets := strings.CutPrefix(name, "secrets/")
		switch {
		case name == bundle.KeyEntry && h.Typeflag == tar.TypeReg:
		case name == "secrets" && h.Typeflag == tar.TypeDir:
		case inSecrets && h.Typeflag == tar.TypeReg && strings.HasSuffix(rest, ".age") &&
			!strings.ContainsAny(rest, "/\\\x00") && rest != ".age" && rest != "..age":
		default:
			return fmt.Errorf("entry %q of type %q is not in the layout", h.Name, h.Typeflag)
		}
	}
	if !seen[bundle.KeyEntry] {
		return fmt.Errorf("no key")
	}
	return nil
}
