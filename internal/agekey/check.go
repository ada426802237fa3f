package agekey

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Reason classifies why an age file failed to decrypt.
type Reason int

// The reasons a [Check] can fail. All but Read are properties of the file.
const (
	// NotAge means the file is not an age file at all (no age header and no
	// armor), typically plaintext committed by mistake.
	NotAge Reason = iota + 1
	// Passphrase means the file is encrypted with a passphrase (an scrypt
	// recipient), not to a key, so no host can decrypt it at boot.
	Passphrase
	// NoMatch means the file is encrypted, but not to this key.
	NoMatch
	// Header means the age header is malformed, truncated, or fails its
	// MAC (tampered with or corrupted).
	Header
	// Payload means the encrypted payload is truncated or corrupted,
	// anywhere including its last chunk.
	Payload
	// Empty means the file has zero bytes.
	Empty
	// Armor means the file is ASCII-armored and the armor is invalid.
	Armor
	// Read means reading the file failed (an I/O error from the reader);
	// it says nothing about the file's content.
	Read
)

var reasonNames = map[Reason]string{
	NotAge:     "not-age",
	Passphrase: "passphrase",
	NoMatch:    "no-match",
	Header:     "header",
	Payload:    "payload",
	Empty:      "empty",
	Armor:      "armor",
	Read:       "read",
}

// String returns a short stable name for the reason ("no-match",
// "payload", …), suitable for JSON reports.
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// DecryptError is the error [Check] returns. Its message is short, lowercase,
// says what to do when there is something to do, and never contains the file
// name (the caller adds it), key material or plaintext.
type DecryptError struct {
	// Reason classifies the failure.
	Reason Reason
	// Err is the underlying error from age or from the reader, if any.
	Err error

	// msg is the message built by Check; when empty (a DecryptError built
	// elsewhere), Error falls back to the reason and Err.
	msg string
}

// Error returns a message an operator can act on, without the file name.
func (e *DecryptError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	if e.Err != nil {
		return e.Reason.String() + ": " + detail(e.Err)
	}
	return e.Reason.String()
}

// Unwrap returns the underlying error, if any.
func (e *DecryptError) Unwrap() error { return e.Err }

// Check decrypts one age file read from r with k, reading the plaintext to
// EOF into a discarding writer: a truncated or corrupted payload only shows
// while reading. Armored files (-----BEGIN AGE ENCRYPTED FILE-----, possibly
// after leading whitespace) are accepted. The plaintext is never kept: it
// goes chunk by chunk to io.Discard.
//
// Check reads r until EOF, so a caller that does not trust r to end must
// bound it (io.LimitReader). It returns the number of bytes it read from r
// (the whole file when it succeeds) and either nil or a *[DecryptError].
// k must come from [Parse]. Check is safe for concurrent use with one Key.
func Check(r io.Reader, k *Key) (ciphertextSize int64, err error) {
	return check(r, k, io.Discard)
}

const (
	// introPrefix starts every binary age file, whatever its version.
	introPrefix = "age-encryption.org/"
	// maxArmorLeadings is the leading whitespace allowed before armor, as
	// in age's armor reader and cmd/age.
	maxArmorLeadings = 1024
)

// check is Check with the plaintext sent to w, so tests can hash it.
func check(r io.Reader, k *Key, w io.Writer) (int64, error) {
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 4096)

	start, _ := br.Peek(maxArmorLeadings + len(armor.Header))
	if cr.err != nil && len(start) == 0 {
		return cr.n, readError(cr.err)
	}
	if len(start) == 0 {
		return cr.n, &DecryptError{Reason: Empty, msg: "empty file (0 bytes): nothing was encrypted"}
	}

	var in io.Reader = br
	switch {
	case looksArmored(start):
		// Includes near misses (a lower-case or misspelled begin line),
		// so that they fail as bad armor rather than as "not age".
		in = armor.NewReader(br)
	case bytes.Contains(start, []byte(armor.Header)):
		return cr.n, &DecryptError{Reason: Armor, msg: "bad armor: unexpected text before the begin line"}
	case bytes.HasPrefix(start, []byte(introPrefix)):
	case len(start) < len(introPrefix) && bytes.HasPrefix([]byte(introPrefix), start):
		// A file cut short inside the intro is an age file, truncated.
	default:
		if cr.err != nil {
			return cr.n, readError(cr.err)
		}
		msg := "not an age file: no age header (plaintext committed by mistake?)"
		if looksLikeIdentity(start) {
			msg = "not an age file: it looks like an unencrypted age identity"
		}
		return cr.n, &DecryptError{Reason: NotAge, msg: msg}
	}

	obs := &observer{id: k.identity}
	plain, err := age.Decrypt(in, obs)
	if err != nil {
		return cr.n, classifyHeader(err, cr, obs, k)
	}
	if _, err := io.Copy(w, plain); err != nil {
		return cr.n, classifyPayload(err, cr)
	}
	return cr.n, nil
}

func classifyHeader(err error, cr *countingReader, obs *observer, k *Key) *DecryptError {
	if cr.err != nil {
		return readError(cr.err)
	}
	var aerr *armor.Error
	if errors.As(err, &aerr) {
		return armorError(aerr)
	}
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) {
		for _, t := range nm.StanzaTypes {
			if t == "scrypt" {
				return &DecryptError{Reason: Passphrase, Err: err,
					msg: fmt.Sprintf("encrypted with a passphrase, not to a key: re-encrypt it to %s with agenix -r", shortRecipient(k.recipient))}
			}
		}
		return &DecryptError{Reason: NoMatch, Err: err,
			msg: fmt.Sprintf("not encrypted to this key (%s) but to %s: re-encrypt it with agenix -r",
				shortRecipient(k.recipient), describeStanzas(nm.StanzaTypes))}
	}
	if obs.unwrapped {
		// After the file key is unwrapped, age only checks the header MAC
		// and reads the payload nonce.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &DecryptError{Reason: Payload, Err: err, msg: "truncated payload: the file ends right after its header"}
		}
		return &DecryptError{Reason: Header, Err: err, msg: "header MAC mismatch: the header was tampered with or corrupted"}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &DecryptError{Reason: Header, Err: err, msg: "malformed age header: the file ends inside its header (truncated)"}
	}
	return &DecryptError{Reason: Header, Err: err, msg: "malformed age header: " + detail(err)}
}

func classifyPayload(err error, cr *countingReader) *DecryptError {
	if cr.err != nil {
		return readError(cr.err)
	}
	var aerr *armor.Error
	if errors.As(err, &aerr) {
		return armorError(aerr)
	}
	msg := "corrupted or truncated payload: " + detail(err)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "truncated payload: the file ends mid-chunk"
	}
	return &DecryptError{Reason: Payload, Err: err, msg: msg}
}

func armorError(err *armor.Error) *DecryptError {
	inner := errors.Unwrap(err)
	if inner == nil {
		inner = err
	}
	msg := "bad armor: " + detail(inner)
	if errors.Is(inner, io.ErrUnexpectedEOF) {
		msg = "bad armor: truncated (no end line)"
	}
	return &DecryptError{Reason: Armor, Err: err, msg: msg}
}

func readError(err error) *DecryptError {
	return &DecryptError{Reason: Read, Err: err, msg: "read failed: " + detail(err)}
}

// errScryptNotAlone reports a header mixing an scrypt stanza with others,
// which the age spec forbids and age refuses when it tries a passphrase.
var errScryptNotAlone = errors.New("an scrypt recipient must be the only one")

// observer wraps the key's identity to learn whether the file key was
// unwrapped, which tells a bad header MAC from a malformed stanza.
type observer struct {
	id        age.Identity
	unwrapped bool
}

func (o *observer) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(stanzas) > 1 {
		for _, s := range stanzas {
			if s.Type == "scrypt" {
				return nil, errScryptNotAlone
			}
		}
	}
	fileKey, err := o.id.Unwrap(stanzas)
	if err == nil {
		o.unwrapped = true
	}
	return fileKey, err
}

// countingReader counts the bytes read from the file and remembers the first
// error that is not EOF, so that a failing reader is not blamed on the file.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// looksArmored reports whether the file starts, after whitespace, with
// something meant as an age armor begin line.
func looksArmored(start []byte) bool {
	first, _, _ := bytes.Cut(bytes.TrimSpace(start), []byte("\n"))
	if !bytes.HasPrefix(first, []byte("-----")) {
		return false
	}
	// The word AGE, not the letters: "-----BEGIN PGP MESSAGE-----" is not
	// a near miss.
	words := bytes.FieldsFunc(first, func(r rune) bool { return r == '-' || unicode.IsSpace(r) })
	for _, w := range words {
		if bytes.EqualFold(w, []byte("age")) {
			return true
		}
	}
	return false
}

// looksLikeIdentity reports whether an unencrypted file starts like an age
// identity file, to say so (without quoting it).
func looksLikeIdentity(start []byte) bool {
	s := strings.ToUpper(string(start))
	return strings.Contains(s, "AGE-SECRET-KEY-") || strings.Contains(s, "AGE-PLUGIN-")
}

// shortRecipient keeps X25519 recipients whole (they are what operators
// compare against secrets.nix) and shortens the ~2000-character post-quantum
// ones.
func shortRecipient(r string) string {
	if len(r) <= 80 {
		return r
	}
	return r[:16] + "…" + r[len(r)-8:]
}

// describeStanzas summarizes the recipient types of a header, such as
// "2 other recipients (X25519)". Types come from the file, so they are
// capped in number and length.
func describeStanzas(types []string) string {
	var order []string
	count := map[string]int{}
	for _, t := range types {
		if len(t) > 24 {
			t = t[:24] + "…"
		}
		if count[t] == 0 {
			order = append(order, t)
		}
		count[t]++
	}
	if len(order) > 4 {
		order = append(order[:4], "…")
	}
	noun := "recipients"
	if len(types) == 1 {
		noun = "recipient"
	}
	return fmt.Sprintf("%d other %s (%s)", len(types), noun, strings.Join(order, ", "))
}

// detail renders an underlying error for a message: age's errors never hold
// plaintext, but header errors may quote a line of the file, so the text is
// capped, and dropped when it looks like key material.
func detail(err error) string {
	s := err.Error()
	if looksLikeIdentity([]byte(s)) {
		return "(details withheld: they may contain key material)"
	}
	s = strings.ToValidUTF8(s, "?")
	if len(s) > 160 {
		s = strings.ToValidUTF8(s[:160], "") + "…"
	}
	return s
}
