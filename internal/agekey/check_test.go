package agekey

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"unicode"

	"filippo.io/age"
	"filippo.io/age/armor"
)

const chunk = 64 << 10 // age's plaintext chunk size

func TestCheck(t *testing.T) {
	me := newX25519(t)
	other := newX25519(t)
	pq := newHybrid(t)
	pqOther := newHybrid(t)

	small := []byte("discord-token=not-really\n")
	big := pattern(3*chunk + 8192) // four chunks, the last one partial
	good := encrypt(t, small, false, me.rcpt)
	goodBig := encrypt(t, big, false, me.rcpt)
	armored := encrypt(t, small, true, me.rcpt)
	armoredBig := encrypt(t, big, true, me.rcpt)
	hBig := headerLen(t, goodBig)
	footer := []byte(armor.Footer + "\n")

	// A base64 character in the armor body replaced by one outside the
	// alphabet.
	badArmor := bytes.Clone(armoredBig)
	badArmor[len(armor.Header)+1+10] = '*'

	// The MAC's first base64 character changed to another valid one, so
	// the header parses and only the MAC check can catch it.
	macFlip := bytes.Clone(goodBig)
	if i := bytes.Index(macFlip, []byte("\n--- ")) + 5; macFlip[i] == 'A' {
		macFlip[i] = 'B'
	} else {
		macFlip[i] = 'A'
	}
	// "v1" in the intro becomes "v0".
	versionFlip := flip(goodBig, len("age-encryption.org/v"))

	tests := []struct {
		name   string
		file   []byte
		key    testKey
		reason Reason // 0: success
		msg    string // substring of the message
	}{
		{"good", good, me, 0, ""},
		{"good empty plaintext", encrypt(t, nil, false, me.rcpt), me, 0, ""},
		{"good exactly one chunk", encrypt(t, pattern(chunk), false, me.rcpt), me, 0, ""},
		{"good multi-chunk", goodBig, me, 0, ""},
		{"good among several recipients", encrypt(t, small, false, other.rcpt, me.rcpt), me, 0, ""},
		{"armored", armored, me, 0, ""},
		{"armored multi-chunk", armoredBig, me, 0, ""},
		{"armored after leading whitespace", append([]byte("\n  \r\n\t\n"), armored...), me, 0, ""},
		{"armored with CRLF", bytes.ReplaceAll(armored, []byte("\n"), []byte("\r\n")), me, 0, ""},
		{"hybrid", encrypt(t, big, false, pq.rcpt), pq, 0, ""},
		{"hybrid armored", encrypt(t, small, true, pq.rcpt), pq, 0, ""},

		{"other recipient", encrypt(t, small, false, other.rcpt), me, NoMatch,
			"not encrypted to this key (" + me.key.Recipient() + ") but to 1 other recipient (X25519): re-encrypt it with agenix -r"},
		{"other recipients", encrypt(t, small, false, other.rcpt, newX25519(t).rcpt), me, NoMatch, "but to 2 other recipients (X25519)"},
		{"other recipient armored", encrypt(t, small, true, other.rcpt), me, NoMatch, "not encrypted to this key"},
		{"hybrid key, x25519 file", good, pq, NoMatch, "but to 1 other recipient (X25519)"},
		{"x25519 key, hybrid file", encrypt(t, small, false, pq.rcpt), me, NoMatch, "(mlkem768x25519)"},
		{"other hybrid recipient", encrypt(t, small, false, pqOther.rcpt), pq, NoMatch, "not encrypted to this key (age1pq1"},

		{"passphrase", encrypt(t, small, false, scryptRecipient(t)), me, Passphrase,
			"encrypted with a passphrase, not to a key: re-encrypt it to " + me.key.Recipient() + " with agenix -r"},
		{"passphrase armored", encrypt(t, small, true, scryptRecipient(t)), me, Passphrase, "encrypted with a passphrase"},

		{"plaintext", []byte("DISCORD_TOKEN=abc\n"), me, NotAge, "not an age file: no age header"},
		{"plaintext identity", []byte(me.text + "\n"), me, NotAge, "looks like an unencrypted age identity"},
		{"binary junk", pattern(1000), me, NotAge, "not an age file"},
		{"whitespace only", []byte(" \n\n"), me, NotAge, "not an age file"},
		{"empty", nil, me, Empty, "empty file (0 bytes)"},

		{"truncated in intro", []byte("age-encr"), me, Header, "malformed age header"},
		{"truncated in header", goodBig[:hBig-10], me, Header, "malformed age header"},
		{"truncated after header", goodBig[:hBig], me, Payload, "truncated payload: the file ends right after its header"},
		{"truncated in nonce", goodBig[:hBig+5], me, Payload, "truncated payload"},
		{"truncated after nonce", goodBig[:hBig+16], me, Payload, "payload"},
		{"truncated mid-chunk", goodBig[:hBig+16+1000], me, Payload, "payload"},
		{"truncated at a chunk boundary", goodBig[:hBig+16+chunk+16], me, Payload, "truncated payload"},
		{"truncated in last chunk", goodBig[:len(goodBig)-1], me, Payload, "payload"},
		{"trailing data", append(bytes.Clone(goodBig), 0), me, Payload, "corrupted or truncated payload"},

		{"header byte flipped (MAC)", macFlip, me, Header, "header MAC mismatch: the header was tampered with or corrupted"},
		{"header byte flipped (stanza)", flip(goodBig, bytes.Index(goodBig, []byte("\n-> X25519 "))+2), me, Header, "malformed age header"},
		{"header byte flipped (version)", versionFlip, me, Header, "malformed age header"},
		{"payload byte flipped (first chunk)", flip(goodBig, hBig+16+100), me, Payload, "corrupted or truncated payload"},
		{"payload byte flipped (nonce)", flip(goodBig, hBig+3), me, Payload, "corrupted or truncated payload"},
		{"payload byte flipped (last chunk)", flip(goodBig, len(goodBig)-20), me, Payload, "corrupted or truncated payload"},
		{"payload byte flipped (last tag)", flip(goodBig, len(goodBig)-1), me, Payload, "corrupted or truncated payload"},

		{"armor bad character", badArmor, me, Armor, "bad armor"},
		{"armor without end line", armoredBig[:len(armoredBig)-len(footer)], me, Armor, "bad armor: truncated (no end line)"},
		{"armor cut mid-line", armoredBig[:len(armoredBig)/2], me, Armor, "bad armor"},
		{"armor trailing garbage", append(bytes.Clone(armored), "junk\n"...), me, Armor, "bad armor: trailing data"},
		{"armor header only", []byte(armor.Header + "\n"), me, Armor, "bad armor"},
		{"armor lower-case begin line", bytes.Replace(armored, []byte("BEGIN AGE"), []byte("BEGIN age"), 1), me, Armor, "bad armor: invalid first line"},
		{"armor text before begin line", append([]byte("see below\n"), armored...), me, Armor, "bad armor: unexpected text before the begin line"},
		{"pgp message", []byte("-----BEGIN PGP MESSAGE-----\n\nhQEMA5VX\n-----END PGP MESSAGE-----\n"), me, NotAge, "not an age file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Check(bytes.NewReader(tt.file), tt.key.key)
			if n > int64(len(tt.file)) || n < 0 {
				t.Errorf("read %d bytes of a %d-byte file", n, len(tt.file))
			}
			if tt.reason == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if n != int64(len(tt.file)) {
					t.Errorf("ciphertextSize = %d, want %d", n, len(tt.file))
				}
				return
			}
			if err == nil {
				t.Fatalf("Check succeeded, want %v", tt.reason)
			}
			de := asDecryptError(t, err)
			if de.Reason != tt.reason {
				t.Errorf("Reason = %v, want %v (%v)", de.Reason, tt.reason, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
			if r := []rune(msg)[0]; !unicode.IsLower(r) {
				t.Errorf("message %q does not start lowercase", msg)
			}
			if strings.HasSuffix(msg, ".") {
				t.Errorf("message %q ends with a period", msg)
			}
			for _, k := range []testKey{me, other, pq, pqOther} {
				assertNoSecret(t, msg, k.text)
			}
			if bytes.Contains([]byte(msg), small) || strings.Contains(msg, "DISCORD_TOKEN") {
				t.Errorf("message %q contains plaintext", msg)
			}
		})
	}
}

// TestCheckReadsPlaintextToEOF checks that the whole plaintext goes through
// the writer, so a corrupted last chunk cannot go unnoticed.
func TestCheckReadsPlaintextToEOF(t *testing.T) {
	k := newX25519(t)
	for _, armored := range []bool{false, true} {
		plain := pattern(5*chunk + 17)
		file := encrypt(t, plain, armored, k.rcpt)
		h := sha256.New()
		n, err := check(bytes.NewReader(file), k.key, h)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(file)) {
			t.Errorf("ciphertextSize = %d, want %d", n, len(file))
		}
		if want := sha256.Sum256(plain); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Errorf("armored=%v: plaintext seen by the writer differs", armored)
		}
	}
}

// TestCheckDoesNotBufferPlaintext streams a large file through Check and
// samples the heap while it reads: the heap must stay a fraction of the
// plaintext size. (Total allocation is no measure: age allocates a fresh
// 64 KiB buffer per chunk, garbage as soon as the chunk is consumed.)
func TestCheckDoesNotBufferPlaintext(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	k := newX25519(t)
	const size = 64 << 20
	src, err := age.EncryptReader(io.LimitReader(zeros{}, size), k.rcpt)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	hs := &heapSampler{r: src, every: 1 << 20}
	n, err := Check(hs, k.key)
	if err != nil {
		t.Fatal(err)
	}
	if n <= size {
		t.Fatalf("read only %d bytes", n)
	}
	if hs.samples < 32 {
		t.Fatalf("only %d heap samples", hs.samples)
	}
	if grown := int64(hs.peak) - int64(base.HeapAlloc); grown > size/4 {
		t.Errorf("heap grew by %d MiB while checking a %d MiB file", grown>>20, size>>20)
	}
}

// heapSampler records the peak heap size every so many bytes read.
type heapSampler struct {
	r       io.Reader
	every   int
	read    int
	samples int
	peak    uint64
}

func (h *heapSampler) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.read += n
	if h.read >= h.every {
		h.read = 0
		h.samples++
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.peak = max(h.peak, m.HeapAlloc)
	}
	return n, err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// failingReader returns its data, then err instead of EOF.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestCheckReadError(t *testing.T) {
	k := newX25519(t)
	file := encrypt(t, pattern(2*chunk), false, k.rcpt)
	armored := encrypt(t, pattern(2*chunk), true, k.rcpt)
	errNet := errors.New("connection reset by peer")
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"at start", nil},
		{"in header", file[:30]},
		{"in payload", file[:len(file)/2]},
		{"at the end", file},
		{"armored in payload", armored[:len(armored)/2]},
		{"plaintext", []byte("not age")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Check(&failingReader{data: tc.data, err: errNet}, k.key)
			de := asDecryptError(t, err)
			if de.Reason != Read {
				t.Errorf("Reason = %v, want read (%v)", de.Reason, err)
			}
			if !errors.Is(err, errNet) {
				t.Errorf("error does not wrap the reader's error: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "read failed: ") {
				t.Errorf("message %q", err)
			}
			if n != int64(len(tc.data)) {
				t.Errorf("ciphertextSize = %d, want %d", n, len(tc.data))
			}
		})
	}
}

func TestDecryptErrorUnwrap(t *testing.T) {
	k := newX25519(t)
	file := encrypt(t, []byte("x"), false, newX25519(t).rcpt)
	_, err := Check(bytes.NewReader(file), k.key)
	var nm *age.NoIdentityMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("NoMatch does not unwrap to *age.NoIdentityMatchError: %v", err)
	}
	bad := encrypt(t, []byte("x"), true, k.rcpt)
	bad[len(armor.Header)+5] = '*'
	_, err = Check(bytes.NewReader(bad), k.key)
	var ae *armor.Error
	if !errors.As(err, &ae) {
		t.Fatalf("Armor does not unwrap to *armor.Error: %v", err)
	}

	// A DecryptError built by a caller still has a useful message.
	e := &DecryptError{Reason: Payload, Err: io.ErrUnexpectedEOF}
	if got := e.Error(); got != "payload: unexpected EOF" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Error("Unwrap")
	}
}

func TestReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := NotAge; r <= Read; r++ {
		s := r.String()
		if s == "" || seen[s] || strings.HasPrefix(s, "reason(") {
			t.Errorf("Reason(%d).String() = %q", int(r), s)
		}
		seen[s] = true
	}
	if got := Reason(0).String(); got != "reason(0)" {
		t.Errorf("zero Reason = %q", got)
	}
}

// TestCheckArmorLeadingWhitespace: age accepts up to 1024 bytes of blank
// lines before the armor begin line, and so does Check; beyond that the
// armor is bad, never "not an age file".
func TestCheckArmorLeadingWhitespace(t *testing.T) {
	me := newX25519(t)
	armored := encrypt(t, []byte("token\n"), true, me.rcpt)
	tests := []struct {
		name    string
		leading string
		reason  Reason // 0: success
	}{
		{"1000 blank lines", strings.Repeat("\n", 1000), 0},
		{"1024 bytes of blank lines", strings.Repeat(" \n", 512), 0},
		{"1026 bytes of blank lines", strings.Repeat(" \n", 513), Armor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := append([]byte(tt.leading), armored...)
			n, err := Check(bytes.NewReader(file), me.key)
			if tt.reason == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if n != int64(len(file)) {
					t.Errorf("read %d bytes, want %d", n, len(file))
				}
				return
			}
			if de := asDecryptError(t, err); de.Reason != tt.reason {
				t.Errorf("reason %v, want %v: %v", de.Reason, tt.reason, err)
			}
		})
	}
}

// typedRecipient wraps the file key into one stanza per type, as a plugin
// or a future recipient type would: Check cannot unwrap any of them.
type typedRecipient []string

func (r typedRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	var out []*age.Stanza
	for _, t := range r {
		out = append(out, &age.Stanza{Type: t, Body: []byte("opaque")})
	}
	return out, nil
}

// TestCheckNamesOtherRecipients: a file for other recipients names how
// many there are and their distinct types, each type capped at 24
// characters and the list at four types.
func TestCheckNamesOtherRecipients(t *testing.T) {
	me := newX25519(t)
	t24 := strings.Repeat("t", 24)
	tests := []struct {
		name  string
		types []string
		want  string
	}{
		{"one", []string{"tpm"}, "but to 1 other recipient (tpm):"},
		{"repeated type", []string{"a", "b", "a", "a"}, "but to 4 other recipients (a, b):"},
		{"type of 24 characters", []string{t24}, "(" + t24 + "):"},
		{"type of 25 characters", []string{t24 + "u"}, "(" + t24 + "…):"},
		{"four types", []string{"a", "b", "c", "d"}, "but to 4 other recipients (a, b, c, d):"},
		{"five types", []string{"a", "b", "c", "d", "e"}, "but to 5 other recipients (a, b, c, d, …):"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := encrypt(t, []byte("token\n"), false, typedRecipient(tt.types))
			_, err := Check(bytes.NewReader(file), me.key)
			de := asDecryptError(t, err)
			if de.Reason != NoMatch {
				t.Fatalf("reason %v, want %v: %v", de.Reason, NoMatch, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestDecryptErrorDetailCap: the detail of an underlying error is shown
// whole up to 160 characters and cut with an ellipsis beyond.
func TestDecryptErrorDetailCap(t *testing.T) {
	s160 := strings.Repeat("d", 160)
	tests := []struct {
		name, err, want string
	}{
		{"160 characters", s160, "header: " + s160},
		{"161 characters", s160 + "e", "header: " + s160 + "…"},
		{"invalid UTF-8", "bad \xff byte", "header: bad ? byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &DecryptError{Reason: Header, Err: errors.New(tt.err)}
			if got := e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
