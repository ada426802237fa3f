package agekey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestParseAccepts(t *testing.T) {
	x := newX25519(t)
	pq := newHybrid(t)
	xr := x.key.Recipient()
	pqr := pq.key.Recipient()

	tests := []struct {
		name string
		text string
		key  testKey
	}{
		{"bare", x.text, x},
		{"bare with newline", x.text + "\n", x},
		{"age-keygen output", "# created: 2026-01-02T03:04:05Z\n# public key: " + xr + "\n" + x.text + "\n", x},
		{"comments CRLF and trailing spaces",
			"# created: 2026-01-02T03:04:05Z  \r\n# public key: " + xr + "\r\n\r\n" + x.text + "   \r\n  \r\n", x},
		{"leading spaces and tabs", "\n\n \t" + x.text + "\t \n# trailing comment\n", x},
		{"indented comment", "   # pasted with an indent\n" + x.text, x},
		{"byte order mark", "\uFEFF" + x.text + "\r\n", x},
		{"hybrid", pq.text + "\n", pq},
		{"hybrid with comments CRLF", "# created: 2026-01-02T03:04:05Z\r\n# public key: " + pqr + "\r\n" + pq.text + " \r\n", pq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse([]byte(tt.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := k.Recipient(), tt.key.key.Recipient(); got != want {
				t.Errorf("Recipient() = %s, want %s", got, want)
			}
			want := "# public key: " + tt.key.key.Recipient() + "\n" + tt.key.text + "\n"
			if got := string(k.Canonical()); got != want {
				t.Errorf("Canonical() is not the canonical identity file")
			}
			if _, hybrid := k.identity.(*age.HybridIdentity); hybrid != strings.HasPrefix(tt.key.text, "AGE-SECRET-KEY-PQ-") {
				t.Errorf("identity is a %T", k.identity)
			}
		})
	}
	if !strings.HasPrefix(xr, "age1") || strings.HasPrefix(xr, "age1pq1") {
		t.Errorf("X25519 recipient %q", xr)
	}
	if !strings.HasPrefix(pqr, "age1pq1") {
		t.Errorf("hybrid recipient %.20q…", pqr)
	}
}

func TestParseRefuses(t *testing.T) {
	x := newX25519(t)
	y := newX25519(t)
	pq := newHybrid(t)
	xr := x.key.Recipient()
	// A corrupted checksum: the last data character changed.
	last := x.text[len(x.text)-1]
	repl := byte('Q')
	if last == 'Q' {
		repl = 'P'
	}
	badChecksum := x.text[:len(x.text)-1] + string(repl)

	tests := []struct {
		name string
		text string
		kind error
		msg  string // substring of the message
	}{
		{"empty", "", ErrEmpty, "age key is empty"},
		{"whitespace", " \r\n\t\n\n", ErrEmpty, "age key is empty"},
		{"only comments", "# created: 2026-01-02\n# public key: " + xr + "\n", ErrNoIdentity, "no identity found"},
		{"two identities", "# first\n" + x.text + "\n\n" + y.text + "\n", ErrMultipleIdentities,
			"found 2 identities, expected exactly one (lines 2, 4)"},
		{"same identity twice", x.text + "\r\n" + x.text + "\r\n", ErrMultipleIdentities, "found 2 identities, expected exactly one (lines 1, 2)"},
		{"x25519 and hybrid", x.text + "\n" + pq.text + "\n", ErrMultipleIdentities, "found 2 identities"},
		{"three identities", x.text + "\n" + y.text + "\n" + pq.text, ErrMultipleIdentities, "found 3 identities, expected exactly one (lines 1, 2, 3)"},
		{"plugin", "# yubikey\nAGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n", ErrUnsupported,
			"line 2: plugin identities (AGE-PLUGIN-…) are not supported: plugins cannot run in the bundle or at boot"},
		{"plugin next to a key", x.text + "\nAGE-PLUGIN-TPM-1QQQQQQQQQQQQ\n", ErrUnsupported, "line 2: plugin identities"},
		{"openssh private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
			ErrUnsupported, "line 1: ssh keys are not supported"},
		{"pem private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n", ErrUnsupported, "ssh keys are not supported"},
		{"ssh public key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHgo user@host\n", ErrUnsupported, "ssh keys are not supported"},
		{"recipient instead of identity", "# oops\n" + xr + "\n", ErrUnsupported, "line 2: this is a public key (recipient), not an identity"},
		{"encrypted identity file", "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n",
			ErrUnsupported, "line 1: this is an encrypted age file"},
		{"unknown secret key type", "AGE-SECRET-KEY-XX-1QQQQQQQQQQQQQQ\n", ErrUnsupported, "line 1: unknown age identity type"},
		{"garbage", "hello world\n", ErrMalformed, "line 1: not an age identity"},
		{"key with trailing comment", x.text + " # prod\n", ErrMalformed, "line 1: malformed age identity (unexpected text on the same line)"},
		{"key in quotes", `"` + x.text + `"`, ErrMalformed, "line 1: not an age identity"},
		{"key then garbage", x.text + "\nsomething else\n", ErrMalformed, "line 2: not an age identity"},
		{"truncated key", x.text[:40], ErrMalformed, "line 1: malformed age identity (truncated or mistyped?)"},
		{"bad checksum", badChecksum, ErrMalformed, "line 1: malformed age identity"},
		{"lower case key", strings.ToLower(x.text), ErrMalformed, "must be upper case"},
		{"truncated hybrid", pq.text[:50], ErrMalformed, "line 1: malformed age identity"},
		{"not utf-8", "\xff\xfe" + x.text, ErrMalformed, "not valid UTF-8"},
		{"too large", strings.Repeat("#", maxKeyText+1), ErrMalformed, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse([]byte(tt.text))
			if err == nil {
				t.Fatalf("Parse accepted it, recipient %s", k.Recipient())
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error does not match %v: %v", tt.kind, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			for _, s := range []string{x.text, y.text, pq.text} {
				assertNoSecret(t, err.Error(), s)
				assertNoSecret(t, fmt.Sprintf("%+v %#v", err, err), s)
			}
		})
	}
}

// TestParseErrorsNeverContainKey feeds Parse every kind of bad input built
// around real keys and checks that no message quotes any of them, in any
// form: whole, in pieces, or re-cased.
func TestParseErrorsNeverContainKey(t *testing.T) {
	keys := []testKey{newX25519(t), newX25519(t), newHybrid(t)}
	var secrets []string
	for _, k := range keys {
		secrets = append(secrets, k.text)
	}
	var inputs []string
	for _, k := range keys {
		s := k.text
		inputs = append(inputs,
			s+"\n"+keys[0].text,            // two identities
			s+"\ngarbage",                  // identity then garbage
			"garbage\n"+s,                  // garbage then identity
			s[:len(s)-3],                   // truncated
			s+"Q",                          // one extra character
			s[:20]+"!"+s[21:],              // invalid character
			strings.ToLower(s),             // wrong case
			strings.ToLower(s[:30])+s[30:], // mixed case
			s+" trailing words",            // trailing text on the line
			"AGE-PLUGIN-X-1"+s[16:],        // plugin prefix on key data
			"age1"+s[16:],                  // recipient prefix on key data
			"ssh-ed25519 "+s,               // ssh prefix
			"-----BEGIN OPENSSH PRIVATE KEY-----\n"+s,
			s+"\n-----BEGIN OPENSSH PRIVATE KEY-----",
			"AGE-SECRET-KEY-9"+s[16:], // unknown type
			"\xff"+s,                  // invalid UTF-8
			s+"\n"+s+"\n"+s,           // three times
		)
	}
	for i, in := range inputs {
		_, err := Parse([]byte(in))
		if err == nil {
			t.Errorf("input %d accepted", i)
			continue
		}
		for _, s := range secrets {
			assertNoSecret(t, err.Error(), s)
		}
		if strings.Contains(strings.ToUpper(err.Error()), "AGE-SECRET-KEY") {
			t.Errorf("input %d: message mentions AGE-SECRET-KEY: %v", i, err)
		}
	}
}

func TestKeyNeverFormatsSecret(t *testing.T) {
	for _, tk := range []testKey{newX25519(t), newHybrid(t)} {
		k := tk.key
		type holder struct {
			K  Key
			P  *Key
			k  Key
			p  *Key
			ks []Key
		}
		h := holder{K: *k, P: k, k: *k, p: k, ks: []Key{*k}}
		outputs := []string{
			fmt.Sprint(k), fmt.Sprint(*k), k.String(), k.GoString(),
			fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%X|%d|%T", k, k, k, k, k, k, k, k, k),
			fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%X|%d", *k, *k, *k, *k, *k, *k, *k, *k),
			fmt.Sprintf("%v|%+v|%#v", h, h, h),
			fmt.Sprintf("%v|%+v|%#v", &h, &h, &h),
		}
		j, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(j))
		for _, out := range outputs {
			assertNoSecret(t, out, tk.text)
		}
		if got := fmt.Sprint(k); got != k.Recipient() {
			t.Errorf("fmt.Sprint(k) = %.30q…, want the recipient", got)
		}
		if got := fmt.Sprintf("%q", k); got != fmt.Sprintf("%q", k.Recipient()) {
			t.Errorf("%%q = %.30s…, want the quoted recipient", got)
		}
	}
	var nilKey *Key
	if got := fmt.Sprint(nilKey); !strings.Contains(got, "nil") {
		t.Errorf("nil key formats as %q", got)
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	for _, tk := range []testKey{newX25519(t), newHybrid(t)} {
		k := tk.key
		c := k.Canonical()
		if !bytes.Equal(c, k.Canonical()) {
			t.Fatal("Canonical is not deterministic")
		}
		c[0] = 'X' // the caller owns the result
		if bytes.Equal(c, k.Canonical()) {
			t.Fatal("Canonical returns shared memory")
		}
		k2, err := Parse(k.Canonical())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k2.Canonical(), k.Canonical()) || k2.Recipient() != k.Recipient() {
			t.Fatal("Parse(Canonical()) is a different key")
		}
		// age itself, as on a host, reads the same identity file.
		ids, err := age.ParseIdentities(bytes.NewReader(k.Canonical()))
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 {
			t.Fatalf("age parses %d identities", len(ids))
		}
		file := encrypt(t, []byte("hello"), false, tk.rcpt)
		if _, err := age.Decrypt(bytes.NewReader(file), ids...); err != nil {
			t.Fatalf("age cannot decrypt with the canonical identity: %v", err)
		}
		if _, err := Check(bytes.NewReader(file), k2); err != nil {
			t.Fatal(err)
		}
	}
}

// TestParseSizeLimit: a key file of exactly maxKeyText bytes (a key padded
// with comments) is still read; one byte more is refused as too large.
func TestParseSizeLimit(t *testing.T) {
	x := newX25519(t)
	padded := func(size int) string {
		head := x.text + "\n#"
		return head + strings.Repeat("x", size-len(head))
	}
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"at the limit", padded(maxKeyText), true},
		{"one byte over", padded(maxKeyText + 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse([]byte(tt.text))
			if !tt.ok {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(fmt.Sprint(err), "too large") {
					t.Fatalf("Parse = %v, want a too-large error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if k.Recipient() != x.key.Recipient() {
				t.Errorf("Recipient() = %s, want %s", k.Recipient(), x.key.Recipient())
			}
		})
	}
}
