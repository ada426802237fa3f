package agekey

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// vectorIdentities returns the distinct identities of the CCTV vectors,
// X25519 ones first, most used first within each kind.
func vectorIdentities(t testing.TB) []string {
	names, vectors := readVectors(t)
	count := map[string]int{}
	var ids []string
	for _, name := range names {
		for _, id := range vectors[name].identities {
			if count[id] == 0 {
				ids = append(ids, id)
			}
			count[id]++
		}
	}
	isPQ := func(id string) bool { return strings.HasPrefix(id, "AGE-SECRET-KEY-PQ-") }
	slices.SortStableFunc(ids, func(a, b string) int {
		if isPQ(a) != isPQ(b) {
			if isPQ(a) {
				return 1
			}
			return -1
		}
		return count[b] - count[a]
	})
	return ids
}

func FuzzParse(f *testing.F) {
	ids := vectorIdentities(f)
	for _, id := range ids {
		f.Add([]byte(id))
		f.Add([]byte("# created: 2026-01-02T03:04:05Z\r\n# public key: age1xyz\r\n" + id + "  \r\n"))
		f.Add([]byte(id[:len(id)/2]))
		f.Add([]byte(strings.ToLower(id)))
	}
	f.Add([]byte(ids[0] + "\n" + ids[len(ids)-1] + "\n"))
	f.Add([]byte(""))
	f.Add([]byte("# only a comment\n\n"))
	f.Add([]byte("AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQ\n"))
	f.Add([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"))
	f.Add([]byte("age1f3ygt5e2d2h7d6dae2tnwgy4y6f0kwhvpa64cre0k2gprv2r8qnst4j00y\n"))
	f.Add([]byte("\uFEFFhello\r\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Parse(data)
		if err != nil {
			if k != nil {
				t.Fatal("Parse returned a key and an error")
			}
			msg := err.Error()
			if msg == "" {
				t.Fatal("empty error message")
			}
			if !slices.ContainsFunc([]error{ErrEmpty, ErrNoIdentity, ErrMultipleIdentities, ErrUnsupported, ErrMalformed},
				func(kind error) bool { return errors.Is(err, kind) }) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			for line := range strings.SplitSeq(string(data), "\n") {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(strings.ToUpper(line), "AGE-SECRET-KEY") && strings.Contains(msg, line) {
					t.Fatal("error message contains an AGE-SECRET-KEY line of the input")
				}
			}
			// Messages never name the secret key prefix at all, so they
			// cannot carry one by accident.
			if strings.Contains(strings.ToUpper(msg), "AGE-SECRET-KEY") {
				t.Fatalf("error message mentions AGE-SECRET-KEY: %q", msg)
			}
			return
		}

		// Accepted: exactly the identity line of the input, re-encoded the
		// same, formatted as its recipient only.
		c := k.Canonical()
		_, idLine, ok := bytes.Cut(bytes.TrimSuffix(c, []byte("\n")), []byte("\n"))
		if !ok || !bytes.Contains(data, idLine) {
			t.Fatal("the canonical identity is not a line of the input")
		}
		k2, err := Parse(c)
		if err != nil || !bytes.Equal(k2.Canonical(), c) || k2.Recipient() != k.Recipient() {
			t.Fatalf("Canonical does not round-trip: %v", err)
		}
		if !strings.HasPrefix(k.Recipient(), "age1") {
			t.Fatalf("recipient %.20q", k.Recipient())
		}
		if s := fmt.Sprintf("%v %+v %#v %s", k, k, *k, k); strings.Contains(s, string(idLine)) {
			t.Fatal("formatting the key shows the secret")
		}
	})
}

func FuzzCheck(f *testing.F) {
	names, vectors := readVectors(f)
	for _, name := range names {
		f.Add(vectors[name].file)
	}
	var keys []*Key
	var secrets []string
	ids := vectorIdentities(f)
	// The most used X25519 and hybrid identities, so that mutations of
	// the vectors get past the stanzas and into the payload.
	pq := slices.IndexFunc(ids, func(id string) bool { return strings.HasPrefix(id, "AGE-SECRET-KEY-PQ-") })
	if pq < 1 {
		f.Fatal("the vectors lack an X25519 or a hybrid identity")
	}
	for _, id := range []string{ids[0], ids[pq]} {
		k, err := Parse([]byte(id))
		if err != nil {
			f.Fatal(err)
		}
		keys = append(keys, k)
		secrets = append(secrets, id)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range keys {
			n, err := Check(bytes.NewReader(data), k)
			if n < 0 || n > int64(len(data)) {
				t.Fatalf("read %d bytes of %d", n, len(data))
			}
			if err == nil {
				if n != int64(len(data)) {
					t.Fatalf("success after reading %d bytes of %d", n, len(data))
				}
				// Nothing passes that age itself would refuse.
				if rerr := referenceDecrypt(data, k); rerr != nil {
					t.Fatalf("Check passed a file age refuses: %v", rerr)
				}
				continue
			}
			de, ok := err.(*DecryptError)
			if !ok {
				t.Fatalf("error is %T, want *DecryptError: %v", err, err)
			}
			if de.Reason < NotAge || de.Reason > Read {
				t.Fatalf("invalid reason %d", de.Reason)
			}
			if de.Reason == Read {
				t.Fatalf("read error from a bytes.Reader: %v", err)
			}
			msg := err.Error()
			if msg == "" {
				t.Fatal("empty message")
			}
			for _, s := range secrets {
				if strings.Contains(strings.ToUpper(msg), s) {
					t.Fatal("message contains the secret key")
				}
			}
		}
	})
}

// referenceDecrypt decrypts as cmd/age does, as the independent oracle.
func referenceDecrypt(data []byte, k *Key) error {
	rr := bufio.NewReader(bytes.NewReader(data))
	var in io.Reader = rr
	start, _ := rr.Peek(1024 + len(armor.Header))
	if bytes.HasPrefix(bytes.TrimSpace(start), []byte(armor.Header)) {
		in = armor.NewReader(rr)
	}
	r, err := age.Decrypt(in, k.identity)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, r)
	return err
}
