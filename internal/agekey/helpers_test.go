package agekey

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// testKey is a freshly generated identity with its text, so tests can
// assert the text never shows up where it must not.
type testKey struct {
	key  *Key
	text string // AGE-SECRET-KEY-…
	rcpt age.Recipient
}

func newX25519(t testing.TB) testKey {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, id.String(), id.Recipient())
}

func newHybrid(t testing.TB) testKey {
	t.Helper()
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, id.String(), id.Recipient())
}

func mustParse(t testing.TB, text string, r age.Recipient) testKey {
	t.Helper()
	k, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse of a generated identity: %v", err)
	}
	return testKey{key: k, text: text, rcpt: r}
}

// encrypt returns plaintext encrypted to recipients, armored if asked.
func encrypt(t testing.TB, plaintext []byte, armored bool, recipients ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	var dst io.Writer = &buf
	var aw io.WriteCloser
	if armored {
		aw = armor.NewWriter(&buf)
		dst = aw
	}
	w, err := age.Encrypt(dst, recipients...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// scryptRecipient returns a passphrase recipient cheap enough for tests.
func scryptRecipient(t testing.TB) age.Recipient {
	t.Helper()
	r, err := age.NewScryptRecipient("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	return r
}

// pattern returns n bytes of recognizable plaintext.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// headerLen returns the length of a binary age file's header, through the
// MAC line.
func headerLen(t testing.TB, file []byte) int {
	t.Helper()
	i := bytes.Index(file, []byte("\n--- "))
	if i < 0 {
		t.Fatal("no MAC line in fixture")
	}
	j := bytes.IndexByte(file[i+1:], '\n')
	return i + 1 + j + 1
}

// flip returns a copy of b with the byte at i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// assertNoSecret fails if msg contains the identity text, whole or in
// pieces long enough to matter, in any case.
func assertNoSecret(t testing.TB, msg, secret string) {
	t.Helper()
	if secret == "" {
		return
	}
	m := strings.ToUpper(msg)
	s := strings.ToUpper(secret)
	if strings.Contains(m, s) {
		t.Fatalf("message contains the secret key")
	}
	// The data part after the prefix, in windows of 12 characters: long
	// enough that a match is not a coincidence with ordinary words.
	data := s[strings.LastIndex(s, "1")+1:]
	for i := 0; i+12 <= len(data); i++ {
		if strings.Contains(m, data[i:i+12]) {
			t.Fatalf("message contains a 12-character piece of the secret key")
		}
	}
}

// asDecryptError requires err to be exactly a *DecryptError, not merely to
// wrap one.
func asDecryptError(t testing.TB, err error) *DecryptError {
	t.Helper()
	de, ok := err.(*DecryptError)
	if !ok {
		t.Fatalf("error is %T, want *DecryptError: %v", err, err)
	}
	var de2 *DecryptError
	if !errors.As(err, &de2) {
		t.Fatal("errors.As does not find the *DecryptError")
	}
	return de
}
