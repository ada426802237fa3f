package proof_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bucket/buckettest"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/proof"
)

// A good archive is proven: its statement comes back, and the object says
// what was found (version, digest, size), not what was hoped for.
func TestSecretsProven(t *testing.T) {
	b := buckettest.NewVersioned(t.TempDir())
	v := put(t, b, secretsKey(prefix1), archiveOf(inst1))
	for _, instance := range []string{inst1, ""} {
		or := object(secretsKey(prefix1))
		c, st, probs, err := proof.Secrets(ctx, b, or, bundle.VerifyOptions{ExpectedRecipient: fx.Recipient}, instance, prefix1)
		if err != nil || len(probs) > 0 || c == nil || st == nil {
			t.Fatalf("instance %q: err %v, contents %v, statement %v, problems:\n%s", instance, err, c != nil, st, render(probs))
		}
		if !bytes.Equal(st.Marshal(), statementOf(inst1).Marshal()) {
			t.Errorf("instance %q: statement %+v, want the one the gate wrote", instance, st)
		}
		if c.Recipient != fx.Recipient || len(c.Secrets) != len(statementOf(inst1).Secrets) {
			t.Errorf("instance %q: contents with recipient %s and %d secrets", instance, c.Recipient, len(c.Secrets))
		}
		if or.VersionID != v.VersionID || or.SHA256 != prep.Secrets[inst1].Hex() || or.Size != prep.Secrets[inst1].Size {
			t.Errorf("instance %q: found %+v, want version %s sha256 %s size %d", instance, or.Object, v.VersionID, prep.Secrets[inst1].Hex(), prep.Secrets[inst1].Size)
		}
	}

	// The digest expected, when given, is the digest found.
	or := object(secretsKey(prefix1))
	or.SHA256 = prep.Secrets[inst1].Hex()
	if _, st, probs, err := proof.Secrets(ctx, b, or, bundle.VerifyOptions{}, inst1, prefix1); err != nil || st == nil || len(probs) > 0 {
		t.Errorf("with its own digest expected: %v %v\n%s", err, st, render(probs))
	}
}

// The version asked for is the version read; with none, the current one
// is read and its id reported.
func TestSecretsVersion(t *testing.T) {
	b := buckettest.NewVersioned(t.TempDir())
	v1 := put(t, b, secretsKey(prefix1), archiveOf(inst1))
	v2 := put(t, b, secretsKey(prefix1), archiveOf(inst2))

	or := object(secretsKey(prefix1))
	or.VersionID = v1.VersionID
	if _, st, probs, err := proof.Secrets(ctx, b, or, bundle.VerifyOptions{}, inst1, prefix1); err != nil || st == nil || len(probs) > 0 || or.VersionID != v1.VersionID {
		t.Errorf("version %s: %v, statement %v, version %s\n%s", v1.VersionID, err, st, or.VersionID, render(probs))
	}

	or = object(secretsKey(prefix1))
	c, st, probs, err := proof.Secrets(ctx, b, or, bundle.VerifyOptions{}, inst1, prefix1)
	if err != nil || c == nil || st != nil {
		t.Fatalf("current version: %v, contents %v, statement %v", err, c != nil, st)
	}
	requireProblem(t, probs, bundle.StatementEntry, `is the statement of instance "clawdinator-2"`)
	if or.VersionID != v2.VersionID || or.SHA256 != prep.Secrets[inst2].Hex() {
		t.Errorf("found version %s sha256 %s, want %s %s", or.VersionID, or.SHA256, v2.VersionID, prep.Secrets[inst2].Hex())
	}
}

// Every way an archive is refused: no statement comes back, and the
// problem says why.
func TestSecretsRefused(t *testing.T) {
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		data     []byte
		vo       bundle.VerifyOptions
		instance string
		sha256   string // expected digest, if any
		want     []string
	}{
		{name: "pinned to another key", data: archiveOf(inst1), vo: bundle.VerifyOptions{ExpectedRecipient: other.Recipient().String()}, instance: inst1,
			want: []string{bundle.KeyEntry, "expected-recipient is " + other.Recipient().String()}},
		{name: "another instance's archive", data: archiveOf(inst2), instance: inst1,
			want: []string{bundle.StatementEntry, `is the statement of instance "clawdinator-2" at "bootstrap/clawdinator-2", not of "clawdinator-1" at "bootstrap/clawdinator-1"`}},
		{name: "another prefix's archive, on a host", data: archiveOf(inst2), instance: "",
			want: []string{bundle.StatementEntry, `not of "clawdinator-2" at "bootstrap/clawdinator-1"`}},
		{name: "no statement", instance: inst1,
			data: rebuild(t, inst1, func(_ *manifest.Statement, f []bundle.SecretFile) ([]byte, []bundle.SecretFile) { return nil, f }),
			want: []string{bundle.StatementEntry, "missing: this bundle was made before bundles carried a statement"}},
		{name: "seeds named elsewhere", instance: inst1,
			data: rebuild(t, inst1, func(st *manifest.Statement, f []bundle.SecretFile) ([]byte, []bundle.SecretFile) {
				st.RepoSeeds.Key = seedsKey("bootstrap/clawdinator-2")
				return st.Marshal(), f
			}),
			want: []string{"names repo-seeds at bootstrap/clawdinator-2/repo-seeds.tar.zst, not bootstrap/clawdinator-1/repo-seeds.tar.zst"}},
		{name: "secret in the archive, not in the statement", instance: inst1,
			data: rebuild(t, inst1, func(st *manifest.Statement, f []bundle.SecretFile) ([]byte, []bundle.SecretFile) {
				st.Secrets = st.Secrets[1:]
				return st.Marshal(), f
			}),
			want: []string{bundle.SecretsDir + "/" + statementOf(inst1).Secrets[0].Name, "is in the archive but not in its statement"}},
		{name: "secret in the statement, not in the archive", instance: inst1,
			data: rebuild(t, inst1, func(st *manifest.Statement, f []bundle.SecretFile) ([]byte, []bundle.SecretFile) {
				return st.Marshal(), f[1:]
			}),
			want: []string{bundle.SecretsDir + "/" + statementOf(inst1).Secrets[0].Name, "is listed in the statement but missing from the archive"}},
		{name: "bytes other than expected", data: archiveOf(inst1), instance: inst1, sha256: prep.Secrets[inst2].Hex(),
			want: []string{"downloaded bytes have sha256 " + problem.Short(prep.Secrets[inst1].Hex()) + ", expected " + problem.Short(prep.Secrets[inst2].Hex())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bucket.Dir(t.TempDir())
			put(t, b, secretsKey(prefix1), tc.data)
			or := object(secretsKey(prefix1))
			or.SHA256 = tc.sha256
			c, st, probs, err := proof.Secrets(ctx, b, or, tc.vo, tc.instance, prefix1)
			if err != nil || c == nil || st != nil {
				t.Fatalf("err %v, contents %v, statement %v; want contents and no statement", err, c != nil, st)
			}
			requireProblem(t, probs, tc.want...)
			if or.SHA256 != hexSum(tc.data) || or.Size != int64(len(tc.data)) {
				t.Errorf("found sha256 %s size %d, want what was read: %s %d", or.SHA256, or.Size, hexSum(tc.data), len(tc.data))
			}
		})
	}
}

// What is not a secrets archive at all gives no contents and no statement.
func TestSecretsNotAnArchive(t *testing.T) {
	b := bucket.Dir(t.TempDir())
	put(t, b, secretsKey(prefix1), []byte("not zstd"))
	c, st, probs, err := proof.Secrets(ctx, b, object(secretsKey(prefix1)), bundle.VerifyOptions{}, inst1, prefix1)
	if err != nil || c != nil || st != nil {
		t.Fatalf("err %v, contents %v, statement %v", err, c, st)
	}
	requireProblem(t, probs, "unreadable archive")
}

// A secrets archive is read up to its cap and no further: an object of
// more bytes is refused, one of exactly the cap is not refused for its
// size.
func TestSecretsSizeCap(t *testing.T) {
	limit := bundle.SecretsLimits.MaxUnpacked
	for _, size := range []int64{limit, limit + 1, limit + 4096} {
		b := hook(bucket.Dir(t.TempDir()))
		put(t, b, secretsKey(prefix1), []byte("stand-in"))
		b.body = func(string, int, []byte) io.Reader { return zeros(size) }
		or := object(secretsKey(prefix1))
		_, st, probs, err := proof.Secrets(ctx, b, or, bundle.VerifyOptions{}, inst1, prefix1)
		if err != nil || st != nil || !probs.HasErrors() {
			t.Fatalf("%d zero bytes: err %v, statement %v, problems:\n%s", size, err, st, render(probs))
		}
		const capped = "larger than 67108864 bytes: not a secrets archive"
		if size > limit {
			requireProblem(t, probs, capped)
			if or.Size != limit+1 {
				t.Errorf("%d bytes: read %d, want the cap and one byte", size, or.Size)
			}
		} else {
			requireNoProblem(t, probs, capped)
		}
	}
}

// A download cut by the network is read again (the SDK cannot retry a
// body it handed over); a refusal or a finding about the bytes is not.
func TestSecretsRetries(t *testing.T) {
	setup := func(t *testing.T) *hooked {
		b := hook(bucket.Dir(t.TempDir()))
		put(t, b, secretsKey(prefix1), archiveOf(inst1))
		return b
	}
	key := secretsKey(prefix1)

	t.Run("cut once", func(t *testing.T) {
		b := setup(t)
		b.body = func(_ string, n int, data []byte) io.Reader {
			if n == 1 {
				return failing(data[:100], errUnreachable)
			}
			return nil
		}
		_, st, probs, err := proof.Secrets(ctx, b, object(key), bundle.VerifyOptions{}, inst1, prefix1)
		if err != nil || st == nil || len(probs) > 0 || b.Gets(key) != 2 {
			t.Errorf("err %v, statement %v, %d downloads, problems:\n%s", err, st, b.Gets(key), render(probs))
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		b := setup(t)
		// A fourth try cancels the run, so that retrying without end
		// fails this test instead of hanging it.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		b.getErr = func(_ string, n int) error {
			if n > 3 {
				cancel()
			}
			return errUnreachable
		}
		_, st, _, err := proof.Secrets(ctx, b, object(key), bundle.VerifyOptions{}, inst1, prefix1)
		if !errors.Is(err, errUnreachable) || st != nil || b.Gets(key) != 3 {
			t.Errorf("err %v, statement %v, %d downloads; want the error after 3", err, st, b.Gets(key))
		}
	})
	t.Run("denied", func(t *testing.T) {
		b := setup(t)
		b.getErr = func(string, int) error { return errDenied }
		if _, _, _, err := proof.Secrets(ctx, b, object(key), bundle.VerifyOptions{}, inst1, prefix1); !errors.Is(err, errDenied) || b.Gets(key) != 1 {
			t.Errorf("err %v, %d downloads; want the refusal after 1", err, b.Gets(key))
		}
	})
	t.Run("missing", func(t *testing.T) {
		b := hook(bucket.Dir(t.TempDir()))
		if _, _, _, err := proof.Secrets(ctx, b, object(key), bundle.VerifyOptions{}, inst1, prefix1); !errors.Is(err, bucket.ErrNotFound) || b.Gets(key) != 1 {
			t.Errorf("err %v, %d downloads; want not found after 1", err, b.Gets(key))
		}
	})
	t.Run("bad body", func(t *testing.T) {
		// Refused for its bytes, once, with one reason: the archive is
		// unreadable, and the download failing says nothing more.
		b := setup(t)
		b.body = func(_ string, _ int, data []byte) io.Reader { return failing(data[:100], errContent) }
		_, st, probs, err := proof.Secrets(ctx, b, object(key), bundle.VerifyOptions{}, inst1, prefix1)
		if err != nil || st != nil || b.Gets(key) != 1 {
			t.Fatalf("err %v, statement %v, %d downloads; want a refusal after 1", err, st, b.Gets(key))
		}
		requireProblem(t, probs, "unreadable archive", errContent.Error())
		requireNoProblem(t, probs, "download failed")
	})
}
