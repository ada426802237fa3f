package bundle_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// benchSecrets returns n ciphertexts to k, sized like host secrets (a few
// hundred bytes; one a PEM-sized 2 KiB).
func benchSecrets(b *testing.B, k testKey, n int) []bundle.SecretFile {
	b.Helper()
	out := make([]bundle.SecretFile, n)
	for i := range out {
		size := 64
		if i%9 == 0 {
			size = 2048
		}
		out[i] = bundle.SecretFile{Name: fmt.Sprintf("secret-%04d.age", i), Data: encrypt(b, bytes.Repeat([]byte{'s'}, size), k.id.Recipient())}
	}
	return out
}

func BenchmarkWriteSecrets(b *testing.B) {
	k := newKey(b)
	secrets := benchSecrets(b, k, 9)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := bundle.WriteSecrets(&buf, k.file, nil, secrets, time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "archive-bytes")
}

func BenchmarkWriteSeeds(b *testing.B) {
	root := b.TempDir()
	const size = 50 << 20
	writeTree(b, root, size, 7)
	b.SetBytes(size)
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		cw := &counter{}
		probs, err := bundle.WriteSeeds(cw, root, bundle.SeedsOptions{Mtime: time.Unix(0, 0)})
		if err != nil || len(probs) > 0 {
			b.Fatal(err, probs)
		}
		n = cw.n
	}
	b.ReportMetric(float64(n)/size, "ratio")
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func benchCheck(b *testing.B, n int) {
	k := newKey(b)
	secrets := benchSecrets(b, k, n)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range secrets {
			if _, err := agekey.Check(bytes.NewReader(s.Data), k.key); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/secret")
}

func BenchmarkCheck1(b *testing.B)    { benchCheck(b, 1) }
func BenchmarkCheck1000(b *testing.B) { benchCheck(b, 1000) }

func BenchmarkVerifySecrets(b *testing.B) {
	k := newKey(b)
	secrets := benchSecrets(b, k, 9)
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, k.file, nil, secrets, time.Unix(0, 0)); err != nil {
		b.Fatal(err)
	}
	expected := make([]string, len(secrets))
	for i, s := range secrets {
		expected[i] = s.Name
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{Expected: expected})
		if len(probs) > 0 {
			b.Fatal(render(probs))
		}
	}
}

// BenchmarkVerifySeeds is deep-verify's read path (and install's, less the
// writes): decompress, walk, check and hash a repo-seeds archive of 50 MiB
// of files, most of them small, so headers count.
func BenchmarkVerifySeeds(b *testing.B) {
	root := b.TempDir()
	const size = 50 << 20
	writeTree(b, root, size, 7)
	data := writeSeeds(b, root, 0)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, probs := bundle.VerifySeeds(bytes.NewReader(data), bundle.SeedsLimits); len(probs) > 0 {
			b.Fatal(render(probs))
		}
	}
}
