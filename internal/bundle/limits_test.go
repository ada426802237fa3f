package bundle_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// memberCap is the largest key or secret a secrets archive may hold (1 MiB,
// checked on the tar header).
const memberCap = 1 << 20

// ciphertextOfSize returns an age file for k of exactly size bytes.
func ciphertextOfSize(t *testing.T, k testKey, size int) []byte {
	t.Helper()
	n := size - 4096
	for range 3 {
		c := encrypt(t, bytes.Repeat([]byte("s"), n), k.id.Recipient())
		if len(c) == size {
			return c
		}
		n += size - len(c)
	}
	t.Fatalf("no plaintext size gives a %d-byte age file", size)
	return nil
}

// TestVerifySecretsMemberCap: a key or a secret of exactly 1 MiB is read
// and checked; one byte more is refused on its size, naming the entry.
func TestVerifySecretsMemberCap(t *testing.T) {
	k := newKey(t)
	paddedKey := func(size int) []byte {
		head := append(bytes.Clone(k.file), '#')
		return append(head, bytes.Repeat([]byte("x"), size-len(head))...)
	}
	secret := ciphertextOfSize(t, k, memberCap)
	tests := []struct {
		name string
		ents []ent
		want string // "": no problem
	}{
		{"key of 1 MiB", []ent{reg(bundle.KeyEntry, paddedKey(memberCap)), dir("secrets/")}, ""},
		{"key of 1 MiB and a byte", []ent{reg(bundle.KeyEntry, paddedKey(memberCap+1)), dir("secrets/")},
			fmt.Sprintf("%s: is %d bytes, more than %d", bundle.KeyEntry, memberCap+1, memberCap)},
		{"secret of 1 MiB", append(goodEntries(t, k), reg("secrets/big.age", secret)), ""},
		{"secret of 1 MiB and a byte", append(goodEntries(t, k), reg("secrets/big.age", append(bytes.Clone(secret), '\n'))),
			fmt.Sprintf("secrets/big.age: is %d bytes, more than %d", memberCap+1, memberCap)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, probs := bundle.VerifySecrets(bytes.NewReader(tarZst(t, tc.ents)), bundle.VerifyOptions{})
			if tc.want != "" {
				mentions(t, probs, tc.want)
				return
			}
			if len(probs) != 0 {
				t.Fatalf("problems:\n%s", render(probs))
			}
			if c.Recipient != k.key.Recipient() {
				t.Errorf("Recipient = %q, want %q", c.Recipient, k.key.Recipient())
			}
		})
	}
}

// TestVerifyEntryCap: an archive of exactly MaxEntries entries is read
// whole; one entry more stops the walk.
func TestVerifyEntryCap(t *testing.T) {
	k := newKey(t)
	secrets := goodEntries(t, k, "a.age", "b.age") // 4 entries
	seeds := []ent{dir("openclaw/"), reg("openclaw/README", []byte("hi\n")), reg("openclaw/LICENSE", []byte("MIT\n"))}
	tests := []struct {
		name       string
		maxEntries int
		tooMany    bool
	}{
		{"at the cap", 4, false},
		{"one over the cap", 3, true},
	}
	for _, tc := range tests {
		t.Run("secrets "+tc.name, func(t *testing.T) {
			lim := bundle.SecretsLimits
			lim.MaxEntries = tc.maxEntries
			c, probs := bundle.VerifySecrets(bytes.NewReader(tarZst(t, secrets)), bundle.VerifyOptions{Limits: &lim})
			if tc.tooMany {
				mentions(t, probs, fmt.Sprintf("more than %d entries", tc.maxEntries))
				return
			}
			if len(probs) != 0 || c == nil || len(c.Secrets) != 2 {
				t.Fatalf("contents %+v, problems:\n%s", c, render(probs))
			}
		})
		t.Run("seeds "+tc.name, func(t *testing.T) {
			lim := bundle.SeedsLimits
			lim.MaxEntries = tc.maxEntries - 1
			st, probs := bundle.VerifySeeds(bytes.NewReader(tarZst(t, seeds)), lim)
			if tc.tooMany {
				mentions(t, probs, fmt.Sprintf("more than %d entries", lim.MaxEntries))
				return
			}
			if len(probs) != 0 {
				t.Fatalf("problems:\n%s", render(probs))
			}
			if st.Entries != 3 || st.Bytes != int64(len("hi\nMIT\n")) {
				t.Errorf("stats %+v, want 3 entries and %d bytes", st, len("hi\nMIT\n"))
			}
		})
	}
}

// TestVerifyUnpackedCap: the decompressed size is capped; an archive one
// byte under the cap is read whole.
func TestVerifyUnpackedCap(t *testing.T) {
	k := newKey(t)
	tarball := tarBytes(t, goodEntries(t, k, "a.age"))
	tests := []struct {
		name        string
		maxUnpacked int64
		tooLarge    bool
	}{
		{"one byte to spare", int64(len(tarball)) + 1, false},
		{"a block short", int64(len(tarball)) - 512, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := bundle.SecretsLimits
			lim.MaxUnpacked = tc.maxUnpacked
			_, probs := bundle.VerifySecrets(bytes.NewReader(zst(t, tarball)), bundle.VerifyOptions{Limits: &lim})
			if !tc.tooLarge {
				if len(probs) != 0 {
					t.Fatalf("problems:\n%s", render(probs))
				}
				return
			}
			mentions(t, probs, "unreadable archive")
		})
	}
}

// TestVerifySecretsStatementCap: a statement of exactly 1 MiB is read and
// returned whole; one byte more is refused on its size, naming the entry.
func TestVerifySecretsStatementCap(t *testing.T) {
	k := newKey(t)
	statement := bytes.Repeat([]byte(" "), memberCap)
	statement[0] = '{'
	statement[len(statement)-1] = '}'
	c, probs := bundle.VerifySecrets(bytes.NewReader(tarZst(t, append(goodEntries(t, k), reg(bundle.StatementEntry, statement)))), bundle.VerifyOptions{})
	if len(probs) != 0 {
		t.Fatalf("problems:\n%s", render(probs))
	}
	if !bytes.Equal(c.Statement, statement) {
		t.Fatalf("Statement is %d bytes, want the %d of the entry", len(c.Statement), len(statement))
	}
	_, probs = bundle.VerifySecrets(bytes.NewReader(tarZst(t, append(goodEntries(t, k), reg(bundle.StatementEntry, append(statement, '\n'))))), bundle.VerifyOptions{})
	mentions(t, probs, fmt.Sprintf("%s: is %d bytes, more than %d", bundle.StatementEntry, memberCap+1, memberCap))
}
