package proof_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bucket/buckettest"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/proof"
)

// seedsBucket is a versioned bucket holding the repo-seeds archive at
// prefix1 (version v1), with or without the store's checksums.
func seedsBucket(t *testing.T, noChecksum bool) (*hooked, string) {
	t.Helper()
	v := buckettest.NewVersioned(t.TempDir())
	v.NoChecksum = noChecksum
	obj := put(t, v, seedsKey(prefix1), seedsData)
	return hook(v), obj.VersionID
}

// want is the statement's description of the repo-seeds archive, edited.
func want(edit func(*manifest.Seeds)) manifest.Seeds {
	w := statementOf(inst1).RepoSeeds
	if edit != nil {
		edit(&w)
	}
	return w
}

const (
	byChecksum = "is not the repo-seeds object its secrets archive names: the store's checksum is sha256 "
	byDownload = "is not the repo-seeds object its secrets archive names: the downloaded bytes have sha256 "
)

// Where the store keeps a SHA-256 checksum, it is the proof: nothing is
// downloaded, and a mismatch in digest or size is named.
func TestSeedsByChecksum(t *testing.T) {
	key := seedsKey(prefix1)
	b, v1 := seedsBucket(t, false)
	or := object(key)
	if probs, err := proof.Seeds(ctx, b, or, want(nil), false); err != nil || len(probs) > 0 {
		t.Fatalf("%v\n%s", err, render(probs))
	}
	if b.Gets(key) != 0 || b.Heads(key) != 1 {
		t.Errorf("%d downloads and %d heads, want none and one", b.Gets(key), b.Heads(key))
	}
	if or.VersionID != v1 || or.SHA256 != hexSum(seedsData) || or.Size != int64(len(seedsData)) {
		t.Errorf("found %+v", or.Object)
	}

	for name, edit := range map[string]func(*manifest.Seeds){
		"digest": func(w *manifest.Seeds) { w.SHA256 = strings.Repeat("e", 64) },
		"size":   func(w *manifest.Seeds) { w.Size++ },
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := seedsBucket(t, false)
			w := want(edit)
			or := object(key)
			probs, err := proof.Seeds(ctx, b, or, w, false)
			if err != nil {
				t.Fatal(err)
			}
			requireProblem(t, probs, byChecksum+fmt.Sprintf("%s (%d bytes), the statement says %s (%d bytes)", problem.Short(hexSum(seedsData)), len(seedsData), problem.Short(w.SHA256), w.Size))
			if b.Gets(key) != 0 || or.SHA256 != hexSum(seedsData) || or.Size != int64(len(seedsData)) {
				t.Errorf("%d downloads, found %+v", b.Gets(key), or.Object)
			}
		})
	}
}

// The version asked for is the one checked, on every path.
func TestSeedsVersion(t *testing.T) {
	key := seedsKey(prefix1)
	for _, tc := range []struct {
		name             string
		noChecksum, deep bool
	}{{"checksum", false, false}, {"download", true, false}, {"deep", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			b, v1 := seedsBucket(t, tc.noChecksum)
			later := put(t, b, key, []byte("a later upload"))
			or := object(key)
			or.VersionID = v1
			if probs, err := proof.Seeds(ctx, b, or, want(nil), tc.deep); err != nil || len(probs) > 0 || or.VersionID != v1 {
				t.Errorf("version %s: %v, found %s\n%s", v1, err, or.VersionID, render(probs))
			}
			or = object(key)
			probs, err := proof.Seeds(ctx, b, or, want(nil), tc.deep)
			if err != nil || !probs.HasErrors() || or.VersionID != later.VersionID {
				t.Errorf("current: %v, found version %s, want %s and a mismatch\n%s", err, or.VersionID, later.VersionID, render(probs))
			}
		})
	}
}

// Where the store keeps no checksum, the bytes are downloaded and hashed.
func TestSeedsByDownload(t *testing.T) {
	key := seedsKey(prefix1)
	b, v1 := seedsBucket(t, true)
	or := object(key)
	if probs, err := proof.Seeds(ctx, b, or, want(nil), false); err != nil || len(probs) > 0 {
		t.Fatalf("%v\n%s", err, render(probs))
	}
	if b.Gets(key) != 1 || or.VersionID != v1 || or.SHA256 != hexSum(seedsData) || or.Size != int64(len(seedsData)) {
		t.Errorf("%d downloads, found %+v", b.Gets(key), or.Object)
	}

	for name, edit := range map[string]func(*manifest.Seeds){
		"digest": func(w *manifest.Seeds) { w.SHA256 = strings.Repeat("e", 64) },
		"size":   func(w *manifest.Seeds) { w.Size++ },
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := seedsBucket(t, true)
			w := want(edit)
			probs, err := proof.Seeds(ctx, b, object(key), w, false)
			if err != nil {
				t.Fatal(err)
			}
			requireProblem(t, probs, byDownload+fmt.Sprintf("%s (%d bytes), the statement says %s (%d bytes)", problem.Short(hexSum(seedsData)), len(seedsData), problem.Short(w.SHA256), w.Size))
		})
	}
}

// Deep verification always downloads, unpacks strictly and compares the
// digest of the tar stream, which only the statement vouches for.
func TestSeedsDeep(t *testing.T) {
	key := seedsKey(prefix1)
	b, v1 := seedsBucket(t, false)
	or := object(key)
	if probs, err := proof.Seeds(ctx, b, or, want(nil), true); err != nil || len(probs) > 0 {
		t.Fatalf("%v\n%s", err, render(probs))
	}
	if b.Gets(key) != 1 || b.Heads(key) != 0 || or.VersionID != v1 || or.SHA256 != hexSum(seedsData) || or.Size != int64(len(seedsData)) {
		t.Errorf("%d downloads, %d heads, found %+v", b.Gets(key), b.Heads(key), or.Object)
	}

	t.Run("tar digest", func(t *testing.T) {
		b, _ := seedsBucket(t, false)
		w := want(func(w *manifest.Seeds) { w.TarSHA256 = strings.Repeat("e", 64) })
		probs, err := proof.Seeds(ctx, b, object(key), w, true)
		if err != nil {
			t.Fatal(err)
		}
		requireProblem(t, probs, "unpacks to a tar stream with sha256 "+problem.Short(statementOf(inst1).RepoSeeds.TarSHA256)+", the statement says eeeeeeeeeeee")
		requireNoProblem(t, probs, "is not the repo-seeds object")
		// Without deep, the same seeds are proven by their checksum.
		if probs, err := proof.Seeds(ctx, b, object(key), w, false); err != nil || len(probs) > 0 {
			t.Errorf("not deep: %v\n%s", err, render(probs))
		}
	})
	t.Run("not an archive", func(t *testing.T) {
		// The digest is the statement's, the archive is not one: refused
		// as an archive, with no tar digest to compare.
		v := buckettest.NewVersioned(t.TempDir())
		junk := []byte("not zstd at all")
		put(t, v, key, junk)
		w := want(func(w *manifest.Seeds) { w.SHA256, w.Size = hexSum(junk), int64(len(junk)) })
		probs, err := proof.Seeds(ctx, v, object(key), w, true)
		if err != nil || !probs.HasErrors() {
			t.Fatalf("%v\n%s", err, render(probs))
		}
		requireNoProblem(t, probs, "unpacks to a tar stream")
		requireNoProblem(t, probs, "is not the repo-seeds object")
	})
}

// Reading the seeds: a cut download is read again, a refusal stops at
// once, and a body that fails for what it is reports why.
func TestSeedsFailures(t *testing.T) {
	key := seedsKey(prefix1)
	t.Run("head unreachable", func(t *testing.T) {
		b, _ := seedsBucket(t, false)
		ctx, cancel := context.WithCancel(ctx) // as in TestSecretsRetries
		defer cancel()
		b.headErr = func(_ string, n int) error {
			if n > 3 {
				cancel()
			}
			return errUnreachable
		}
		if _, err := proof.Seeds(ctx, b, object(key), want(nil), false); !errors.Is(err, errUnreachable) || b.Heads(key) != 3 {
			t.Errorf("err %v after %d heads; want it after 3", err, b.Heads(key))
		}
	})
	t.Run("head missing", func(t *testing.T) {
		b := hook(buckettest.NewVersioned(t.TempDir()))
		if _, err := proof.Seeds(ctx, b, object(key), want(nil), false); !errors.Is(err, bucket.ErrNotFound) || b.Heads(key) != 1 {
			t.Errorf("err %v after %d heads", err, b.Heads(key))
		}
	})
	t.Run("get denied", func(t *testing.T) {
		b, _ := seedsBucket(t, true)
		b.getErr = func(string, int) error { return errDenied }
		if _, err := proof.Seeds(ctx, b, object(key), want(nil), false); !errors.Is(err, errDenied) || b.Gets(key) != 1 {
			t.Errorf("err %v after %d downloads", err, b.Gets(key))
		}
	})
	for _, deep := range []bool{false, true} {
		t.Run(fmt.Sprintf("cut once, deep %v", deep), func(t *testing.T) {
			b, _ := seedsBucket(t, true)
			b.body = func(_ string, n int, data []byte) io.Reader {
				if n == 1 {
					return failing(data[:len(data)/2], errUnreachable)
				}
				return nil
			}
			if probs, err := proof.Seeds(ctx, b, object(key), want(nil), deep); err != nil || len(probs) > 0 || b.Gets(key) != 2 {
				t.Errorf("%v after %d downloads\n%s", err, b.Gets(key), render(probs))
			}
		})
		t.Run(fmt.Sprintf("bad body, deep %v", deep), func(t *testing.T) {
			for _, tc := range []struct {
				err  error
				want string
			}{
				{errContent, "download failed: " + errContent.Error()},
				{errChecksum, "the downloaded bytes do not match the SHA-256 checksum the store keeps for them (corrupt or replaced while being read)"},
			} {
				b, _ := seedsBucket(t, true)
				b.body = func(_ string, _ int, data []byte) io.Reader { return failing(data, tc.err) }
				probs, err := proof.Seeds(ctx, b, object(key), want(nil), deep)
				if err != nil || b.Gets(key) != 1 {
					t.Fatalf("%v after %d downloads; want a refusal after 1", err, b.Gets(key))
				}
				requireProblem(t, probs, tc.want)
			}
		})
	}
}

// Current: a version this run wrote is still what a host downloads, or
// the problem says who replaced it; without a version there is nothing to
// confirm.
func TestCurrent(t *testing.T) {
	key := seedsKey(prefix1)
	b, v1 := seedsBucket(t, false)

	if probs, err := proof.Current(ctx, b, object(key)); err != nil || probs != nil || b.Heads(key) != 0 {
		t.Errorf("no version: %v %v, %d heads", err, probs, b.Heads(key))
	}
	or := object(key)
	or.VersionID = v1
	if probs, err := proof.Current(ctx, b, or); err != nil || len(probs) > 0 {
		t.Errorf("current: %v\n%s", err, render(probs))
	}
	later := put(t, b, key, []byte("another writer"))
	probs, err := proof.Current(ctx, b, or)
	if err != nil {
		t.Fatal(err)
	}
	requireProblem(t, probs, "another writer replaced it: current version "+later.VersionID+" is not the version "+v1+" this run wrote")

	if err := b.Delete(ctx, key, ""); err != nil {
		t.Fatal(err)
	}
	probs, err = proof.Current(ctx, b, or)
	if err != nil {
		t.Fatal(err)
	}
	requireProblem(t, probs, "cannot confirm it is the current version: ", "not found")

	b.headErr = func(string, int) error { return errDenied }
	if probs, err := proof.Current(ctx, b, or); !errors.Is(err, errDenied) || probs != nil {
		t.Errorf("denied: %v %v", err, probs)
	}
}

// ReadManifest parses the manifest at a key, reading 1 MiB at most.
func TestReadManifest(t *testing.T) {
	b := hook(bucket.Dir(t.TempDir()))
	const key = prefix1 + "/manifest.json"
	good := fmt.Sprintf(`{"formatVersion": %d, "instance": %q}`, manifest.Format, inst1)
	// n bytes, the manifest last: a cut anywhere leaves no manifest.
	pad := func(n int) []byte { return []byte(strings.Repeat(" ", n-len(good)) + good) }

	put(t, b, key, pad(1<<20))
	if m, err := proof.ReadManifest(ctx, b, key); err != nil || m.Instance != inst1 {
		t.Errorf("1 MiB: %v %+v", err, m)
	}
	put(t, b, key, pad(1<<20+1))
	if _, err := proof.ReadManifest(ctx, b, key); err == nil || !strings.Contains(err.Error(), "invalid manifest JSON") {
		t.Errorf("more than 1 MiB: %v, want it cut and refused", err)
	}
	if _, err := proof.ReadManifest(ctx, b, prefix1+"/none"); !errors.Is(err, bucket.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	put(t, b, key, []byte(good))
	b.body = func(string, int, []byte) io.Reader { return failing([]byte(good[:5]), errUnreachable) }
	if _, err := proof.ReadManifest(ctx, b, key); !errors.Is(err, errUnreachable) {
		t.Errorf("body cut: %v", err)
	}
}
