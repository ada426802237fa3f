package secretsrc

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

const (
	sumA = "0c771db3bef45271eefbcd6e1facc3d732b69a0da57d185eadb7569343ae8721"
	sumB = "8300be307ee5a8d5f2c0d3e1b4a6978f0e1d2c3b4a5968778695a4b3c2d1e0f9"
)

// A lock is what sha256sum writes, run in the directory or on paths; a
// line that is not is refused with its number, as configuration.
func TestParseLock(t *testing.T) {
	l, err := ParseLock("L", []byte("# fleet secrets\n"+sumA+"  a.age\n\n"+strings.ToUpper(sumB)+" *nix/age-secrets/b.age\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Digests) != 2 || l.Digests["a.age"] != sumA || l.Digests["b.age"] != sumB {
		t.Errorf("digests %v", l.Digests)
	}
	for text, want := range map[string]string{
		"":                      "secrets-lock L lists no secret: write it",
		"# only a comment\n":    "lists no secret",
		sumA + " a.age\n":       "line 1: not a sha256sum line",
		sumA[:63] + "  a.age\n": "line 1: not a sha256sum line",
		sumA + "  x\n":          `line 1: "x" is not the name of an .age file`,
		"\n" + strings.Repeat("g", 64) + "  a.age\n": "line 2: the digest is not 64 hex digits",
		sumA + "  a.txt\n":                           `line 1: "a.txt" is not the name of an .age file`,
		sumA + "  .age\n":                            `is not the name of an .age file`,
		"\\" + sumA + "  a\\nb.age\n":                "not a sha256sum line",
		sumA + "  a.age\n" + sumB + "  d/a.age\n":    "line 2: a.age is listed twice",
	} {
		_, err := ParseLock("L", []byte(text))
		if !errors.As(err, new(*problem.UsageError)) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a usage error containing %q", text, err, want)
		}
	}
}

func TestNormalizePrefix(t *testing.T) {
	for in, want := range map[string]string{"age-secrets": "age-secrets/", "age-secrets/": "age-secrets/", "a/b//": "a/b/"} {
		if got := NormalizePrefix(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// ReadLock reads the file; a missing one says how to write it.
func TestReadLock(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/age-secrets.sha256"
	_, err := ReadLock(p)
	if !errors.As(err, new(*problem.UsageError)) || err.Error() != "secrets-lock "+p+" does not exist: write it from the *.age files you uploaded: (cd DIR && sha256sum *.age) > "+p+", or pass secrets-lock: none to go without" {
		t.Errorf("missing: %v", err)
	}
	if err := os.WriteFile(p, []byte(sumA+"  a.age\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := ReadLock(p)
	if err != nil || l.Path != p || l.Digests["a.age"] != sumA {
		t.Errorf("read: %+v %v", l, err)
	}
	if _, err := ReadLock(dir); !errors.As(err, new(*problem.UsageError)) || !strings.HasPrefix(err.Error(), "secrets-lock "+dir+": ") {
		t.Errorf("a directory: %v", err)
	}
}
