package publish_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// localBuilt is what one Prepare run produced, as bytes.
type localBuilt struct {
	secrets map[string][]byte
	seeds   []byte
}

func localBuild(t testing.TB, in gate.Inputs) localBuilt {
	t.Helper()
	prep, probs := localPrepare(t, in)
	if prep == nil {
		t.Fatalf("prepare refused the input:\n%s", localRender(probs))
	}
	b := localBuilt{secrets: map[string][]byte{}}
	for name, a := range prep.Secrets {
		if sha256.Sum256(a.Data) != a.SHA256 || int64(len(a.Data)) != a.Size {
			t.Fatalf("%s: Archive.SHA256/Size do not describe Archive.Data", name)
		}
		b.secrets[name] = bytes.Clone(a.Data)
	}
	seeds, err := io.ReadAll(prep.OpenSeeds())
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(seeds) != prep.Seeds.SHA256 || int64(len(seeds)) != prep.Seeds.Size {
		t.Fatal("Seeds.SHA256/Size do not describe the seeds archive")
	}
	b.seeds = seeds
	return b
}

// localSame reports, per instance, whether its secrets archive is identical
// in a and b (same SHA-256 and bytes).
func localSame(a, b localBuilt) map[string]bool {
	out := map[string]bool{}
	for name, x := range a.secrets {
		y := b.secrets[name]
		out[name] = sha256.Sum256(x) == sha256.Sum256(y) && bytes.Equal(x, y)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	f := newLocalFixture(t)
	first := localBuild(t, f.load())
	if len(first.secrets) != len(sample.Instances) {
		t.Fatalf("built %d secrets archives, want %d", len(first.secrets), len(sample.Instances))
	}
	second := localBuild(t, f.load())
	for name, same := range localSame(first, second) {
		if !same {
			t.Errorf("%s: secrets.tar.zst differs between two runs of the same inputs", name)
		}
	}
	if !bytes.Equal(first.seeds, second.seeds) {
		t.Error("repo-seeds.tar.zst differs between two runs of the same inputs")
	}

	t.Run("common secret changed", func(t *testing.T) {
		// Same plaintext, new ciphertext: age encryption is randomized, so
		// this is a re-encryption as agenix -r does.
		localEncrypt(t, filepath.Join(f.SecretsDir, localCommon), []byte(sample.Canary+localCommon), f.recipient(t))
		after := localBuild(t, f.load())
		for name, same := range localSame(second, after) {
			if same {
				t.Errorf("%s: secrets.tar.zst unchanged after a common secret changed", name)
			}
		}
		if !bytes.Equal(second.seeds, after.seeds) {
			t.Error("repo-seeds.tar.zst changed although only a secret did")
		}
		second = after
	})

	t.Run("one token changed", func(t *testing.T) {
		const changed = "clawdinator-2"
		localEncrypt(t, filepath.Join(f.SecretsDir, sample.TokenName(changed)), []byte("new token"), f.recipient(t))
		after := localBuild(t, f.load())
		for name, same := range localSame(second, after) {
			if name == changed && same {
				t.Errorf("%s: secrets.tar.zst unchanged after its token changed", name)
			}
			if name != changed && !same {
				t.Errorf("%s: secrets.tar.zst changed when only %s's token did", name, changed)
			}
		}
		if !bytes.Equal(second.seeds, after.seeds) {
			t.Error("repo-seeds.tar.zst changed although only a secret did")
		}
	})

	t.Run("mtime is part of the input", func(t *testing.T) {
		in := f.load()
		in.Mtime = in.Mtime.Add(1e9)
		after := localBuild(t, in)
		if bytes.Equal(after.seeds, second.seeds) {
			t.Error("a different SOURCE_DATE_EPOCH gave the same repo-seeds archive: Mtime is ignored")
		}
	})
}

// TestDeterministicLargeSeeds builds a ~20 MiB tree with incompressible
// parts, enough for the encoder to spread blocks over goroutines, twice.
func TestDeterministicLargeSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 20 MiB tree")
	}
	f := newLocalFixture(t)
	rng := rand.New(rand.NewChaCha8([32]byte{42}))
	var total int
	for i := 0; total < 20<<20; i++ {
		var data []byte
		if i%5 == 0 {
			data = make([]byte, 1<<20+rng.IntN(1<<20))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
		} else {
			data = bytes.Repeat([]byte(fmt.Sprintf("// file %d line\n", i)), 1+rng.IntN(20000))
		}
		p := filepath.Join(f.SeedsDir, "big", fmt.Sprintf("d%d", i%9), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		total += len(data)
	}
	a := localBuild(t, f.load())
	b := localBuild(t, f.load())
	if len(a.seeds) < 10<<20 {
		t.Fatalf("seeds archive is only %d bytes: the random data did not make it in", len(a.seeds))
	}
	if sha256.Sum256(a.seeds) != sha256.Sum256(b.seeds) || !bytes.Equal(a.seeds, b.seeds) {
		t.Fatalf("two runs over a %d MiB tree gave different repo-seeds archives (%d and %d bytes)", total>>20, len(a.seeds), len(b.seeds))
	}
}
