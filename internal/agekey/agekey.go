// Package agekey parses the age identity that goes into every bundle and
// checks that an age file decrypts with it, all the way to the end.
//
// # Identities
//
// The bundle carries exactly one native age identity, written to hosts as
// clawdinator.agekey: an X25519 key (age-keygen) or a hybrid post-quantum key
// (age-keygen -pq). Hosts decrypt with it at boot, where no plugin binary and
// no hardware token is available, so plugin identities are refused, and so
// are SSH keys. [Parse] is lenient about the layout people produce when
// pasting a key into a GitHub secret (comments, blank lines, CRLF, stray
// spaces) and strict about the content: one identity, nothing else.
//
// # Checking files
//
// [Check] decrypts one age file the way a host will and reads the plaintext
// to EOF into a discarding writer, because a corrupted or truncated payload
// only shows while reading it. It classifies every failure as a
// [DecryptError] with a [Reason], so callers can report all bad files with a
// message an operator can act on.
//
// # Secrecy
//
// Nothing in this package prints, reads the environment or writes files.
// Error messages never contain key material or plaintext, and a [Key]
// formats as its public recipient, so a stray %v cannot leak the secret.
package agekey

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// maxKeyText bounds the identity text. A GitHub secret holds at most 48 KiB;
// anything much larger is not a key file.
const maxKeyText = 1 << 20

// Errors returned by [Parse], to be matched with errors.Is. The returned
// errors carry more specific messages (with line numbers) than these.
var (
	// ErrEmpty means the identity text is empty or only whitespace.
	ErrEmpty = errors.New("age key is empty")
	// ErrNoIdentity means the text holds only comments and blank lines.
	ErrNoIdentity = errors.New("no identity found")
	// ErrMultipleIdentities means the text holds more than one identity.
	ErrMultipleIdentities = errors.New("more than one identity")
	// ErrUnsupported means a line holds a key of a kind the bundle cannot
	// use: a plugin identity, an SSH key, a public key or an encrypted
	// identity file.
	ErrUnsupported = errors.New("unsupported key type")
	// ErrMalformed means a line is not an identity at all, or an identity
	// that does not decode (truncated, mistyped, bad checksum).
	ErrMalformed = errors.New("malformed age identity")
)

// parseError is a Parse failure with a message written for an operator and
// a sentinel kind for errors.Is. It never holds input text.
type parseError struct {
	msg  string
	kind error
}

func (e *parseError) Error() string { return e.msg }
func (e *parseError) Unwrap() error { return e.kind }

func parseErrorf(kind error, format string, args ...any) error {
	return &parseError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// Key is a parsed age identity: an X25519 or hybrid post-quantum secret key
// and its public recipient. A Key is immutable and safe for concurrent use.
//
// Formatting a Key with any fmt verb prints its recipient, never the secret.
type Key struct {
	// identity is a pointer type (*age.X25519Identity or
	// *age.HybridIdentity), so even reflection-based printing of a Key
	// shows an address rather than key bytes. No other field holds secret
	// material: Canonical derives the text when asked.
	identity  age.Identity
	recipient string
}

// nativeIdentity is what both supported identity types provide.
type nativeIdentity interface {
	age.Identity
	fmt.Stringer
}

// Parse reads identity text as people paste it into a GitHub secret and
// returns the single age identity it holds.
//
// Blank lines, lines starting with '#', CRLF line endings, a UTF-8 byte order
// mark and spaces around lines are tolerated. Exactly one identity line is
// required: X25519 (from age-keygen) or hybrid post-quantum (from age-keygen
// -pq). Plugin identities, SSH keys, public keys and anything else are
// refused with an error naming the line number. Errors never contain the
// input text; they match [ErrEmpty], [ErrNoIdentity],
// [ErrMultipleIdentities], [ErrUnsupported] or [ErrMalformed] with errors.Is.
func Parse(text []byte) (*Key, error) {
	if len(text) > maxKeyText {
		return nil, parseErrorf(ErrMalformed, "age key text is too large (%d bytes): expected a single identity", len(text))
	}
	text = bytes.TrimPrefix(text, []byte("\uFEFF"))
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, parseErrorf(ErrEmpty, "age key is empty: expected an identity from age-keygen")
	}

	var (
		found     nativeIdentity
		foundLine []int
	)
	for i, raw := range bytes.Split(text, []byte("\n")) {
		n := i + 1
		line := strings.TrimSpace(string(raw))
		if line == "" || line[0] == '#' {
			continue
		}
		id, err := parseLine(n, line)
		if err != nil {
			return nil, err
		}
		foundLine = append(foundLine, n)
		if found == nil {
			found = id
		}
	}

	switch len(foundLine) {
	case 0:
		return nil, parseErrorf(ErrNoIdentity, "no identity found: only comments and blank lines")
	case 1:
	default:
		lines := make([]string, len(foundLine))
		for i, n := range foundLine {
			lines[i] = strconv.Itoa(n)
		}
		return nil, parseErrorf(ErrMultipleIdentities,
			"found %d identities, expected exactly one (lines %s)", len(foundLine), strings.Join(lines, ", "))
	}

	k := &Key{identity: found}
	switch id := found.(type) {
	case *age.X25519Identity:
		k.recipient = id.Recipient().String()
	case *age.HybridIdentity:
		k.recipient = id.Recipient().String()
	}
	return k, nil
}

// parseLine parses one non-blank, non-comment line, already trimmed.
// Messages name the line and the kind of content, never the content.
func parseLine(n int, line string) (nativeIdentity, error) {
	if !utf8.ValidString(line) {
		return nil, parseErrorf(ErrMalformed, "line %d: not an age identity (not valid UTF-8)", n)
	}
	upper := strings.ToUpper(line)
	switch {
	case strings.HasPrefix(upper, "AGE-SECRET-KEY-PQ-1"):
		id, err := age.ParseHybridIdentity(line)
		if err != nil {
			return nil, malformed(n, line)
		}
		return id, nil
	case strings.HasPrefix(upper, "AGE-SECRET-KEY-1"):
		id, err := age.ParseX25519Identity(line)
		if err != nil {
			return nil, malformed(n, line)
		}
		return id, nil
	case strings.HasPrefix(upper, "AGE-PLUGIN-"):
		return nil, parseErrorf(ErrUnsupported,
			"line %d: plugin identities (AGE-PLUGIN-…) are not supported: plugins cannot run in the bundle or at boot; use a key from age-keygen", n)
	case strings.HasPrefix(upper, "AGE-SECRET-KEY-"):
		return nil, parseErrorf(ErrUnsupported,
			"line %d: unknown age identity type: use a key from age-keygen or age-keygen -pq", n)
	case strings.HasPrefix(line, "-----BEGIN AGE ENCRYPTED FILE-----"):
		return nil, parseErrorf(ErrUnsupported,
			"line %d: this is an encrypted age file (a passphrase-protected key?), not an identity: decrypt it first", n)
	case strings.HasPrefix(line, "-----BEGIN") && strings.Contains(line, "PRIVATE KEY"),
		strings.HasPrefix(line, "ssh-"), strings.HasPrefix(line, "ecdsa-sha2-"),
		strings.HasPrefix(line, "sk-ssh-"), strings.HasPrefix(line, "sk-ecdsa-"),
		strings.HasPrefix(line, "PuTTY-User-Key-File"):
		return nil, parseErrorf(ErrUnsupported,
			"line %d: ssh keys are not supported: the bundle needs an age identity from age-keygen", n)
	case strings.HasPrefix(strings.ToLower(line), "age1"):
		return nil, parseErrorf(ErrUnsupported,
			"line %d: this is a public key (recipient), not an identity: the bundle needs the secret key", n)
	default:
		return nil, parseErrorf(ErrMalformed,
			"line %d: not an age identity: expected the secret key line from age-keygen", n)
	}
}

// malformed describes an identity line that does not decode, without
// quoting it: even a mistyped key is mostly key material.
func malformed(n int, line string) error {
	hint := "truncated or mistyped?"
	switch {
	case strings.ContainsAny(line, " \t"):
		hint = "unexpected text on the same line"
	case strings.ToUpper(line) != line:
		hint = "it must be upper case, as age-keygen prints it"
	}
	return parseErrorf(ErrMalformed, "line %d: malformed age identity (%s)", n, hint)
}

// Recipient returns the public recipient of the key: age1… for X25519,
// age1pq1… for hybrid post-quantum keys.
func (k *Key) Recipient() string { return k.recipient }

// Canonical returns the identity file written as clawdinator.agekey in the
// bundle: "# public key: <recipient>\n<IDENTITY>\n". It is the same bytes
// for the same identity, whatever layout Parse read it from. The result is
// secret; the caller owns it and should not keep it longer than needed.
func (k *Key) Canonical() []byte {
	id := k.identity.(nativeIdentity).String()
	b := make([]byte, 0, len("# public key: \n\n")+len(k.recipient)+len(id))
	b = append(b, "# public key: "...)
	b = append(b, k.recipient...)
	b = append(b, '\n')
	b = append(b, id...)
	b = append(b, '\n')
	return b
}

// The formatting methods have value receivers so that a Key printed by
// value, not only through a pointer, also shows only its recipient.

// String returns the public recipient, never the secret key.
func (k Key) String() string { return k.recipient }

// GoString returns the public recipient, never the secret key, so that %#v
// cannot leak it either.
func (k Key) GoString() string { return k.recipient }

// Format writes the public recipient for every verb (quoted for %q), so no
// fmt verb or flag can reveal the secret key.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(k.recipient))
		return
	}
	io.WriteString(f, k.recipient)
}

// CheckRecipient refuses a value of option what that is not an age
// recipient (X25519 or hybrid), without echoing it when it holds a private
// key. The error is a *problem.UsageError.
func CheckRecipient(what, r string) error {
	if _, err := age.ParseX25519Recipient(r); err == nil {
		return nil
	}
	if _, err := age.ParseHybridRecipient(r); err == nil {
		return nil
	}
	if looksLikeIdentity([]byte(r)) {
		// Never echo it: it is a private key, pasted in the wrong place.
		return problem.Usagef("%s holds an age identity (a private key), not a recipient: pass its age1... recipient (age-keygen -y), and rotate the key if this ran where others can read the log", what)
	}
	return problem.Usagef("%s %q is not an age recipient (age1...)", what, r)
}
