package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// TestCheckPrefix: a prefix is a clean relative key prefix, as publish
// writes them; anything else is usage.
func TestCheckPrefix(t *testing.T) {
	for p, want := range map[string]string{
		"bootstrap/clawdinator-1": "",
		"a":                       "",
		"bootstrap/clawdinator 1": "", // a space is no control character
		"bootstrap/~x":            "", // nor is the last printable one
		"":                        "is empty",
		"/bootstrap/x":            "starts or ends",
		"bootstrap/x/":            "starts or ends",
		"bootstrap//x":            "not a clean",
		"bootstrap/./x":           "not a clean",
		"../x":                    "not a clean",
		"..":                      "not a clean",
		".":                       "not a clean",
		"a/../b":                  "not a clean",
		"bootstrap/x\n":           "control character",
		"bootstrap/\x1b[31mx":     "control character",
		`bootstrap\x`:             "backslash",
	} {
		got := CheckPrefix(p)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("CheckPrefix(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestCheckPlatform: install refuses, as a usage error naming the
// platform, to run anywhere but on Linux.
func TestCheckPlatform(t *testing.T) {
	if err := checkPlatform("linux"); err != nil {
		t.Errorf("linux: %v", err)
	}
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		err := checkPlatform(goos)
		var ue *problem.UsageError
		if !errors.As(err, &ue) || err.Error() != "install runs on Linux hosts only (GOOS="+goos+")" {
			t.Errorf("%s: %v", goos, err)
		}
	}
}

// TestCheckOptions: destinations are clean absolute paths that do not
// overlap, archive names have no "/".
func TestCheckOptions(t *testing.T) {
	base := Options{
		Bucket: dummyBucket{}, Prefix: "bootstrap/x", SecretsArchive: "secrets.tar.zst", SeedsArchive: "repo-seeds.tar.zst",
		SecretsDir: "/var/lib/clawd/nix-secrets", SeedsDir: "/var/lib/clawd/repo-seeds", KeyPath: "/etc/agenix/keys/clawdinator.agekey",
		StateDir: DefaultStateDir,
	}
	if err := checkOptions(base); err != nil {
		t.Fatalf("the boot script's paths: %v", err)
	}
	for name, mod := range map[string]func(*Options){
		"relative secrets dir":   func(o *Options) { o.SecretsDir = "var/lib/clawd/nix-secrets" },
		"unclean seeds dir":      func(o *Options) { o.SeedsDir = "/var/lib/clawd/../repo-seeds" },
		"root":                   func(o *Options) { o.SeedsDir = "/" },
		"seeds inside secrets":   func(o *Options) { o.SeedsDir = "/var/lib/clawd/nix-secrets/seeds" },
		"secrets inside seeds":   func(o *Options) { o.SecretsDir = "/var/lib/clawd/repo-seeds/s" },
		"key inside secrets":     func(o *Options) { o.KeyPath = "/var/lib/clawd/nix-secrets/k" },
		"same dir":               func(o *Options) { o.SeedsDir = o.SecretsDir },
		"archive with a slash":   func(o *Options) { o.SeedsArchive = "x/repo-seeds.tar.zst" },
		"archive dot-dot":        func(o *Options) { o.SecretsArchive = ".." },
		"archive empty":          func(o *Options) { o.SecretsArchive = "" },
		"bad prefix":             func(o *Options) { o.Prefix = "/x" },
		"control in a directory": func(o *Options) { o.SecretsDir = "/var/lib/\x1b" },
		"no state dir":           func(o *Options) { o.StateDir = "" },
		"state dir in secrets":   func(o *Options) { o.StateDir = "/var/lib/clawd/nix-secrets/state" },
		"secrets in state dir":   func(o *Options) { o.StateDir = "/var/lib/clawd" },
	} {
		o := base
		mod(&o)
		if err := checkOptions(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The bucket is Install's: Check needs none.
	var ue *problem.UsageError
	if _, err := (&Checked{opt: base}).Install(context.Background(), nil); !errors.As(err, &ue) || err.Error() != "no bucket" {
		t.Errorf("Install without a bucket: %v", err)
	}
	// A sibling whose name starts with another's is not inside it.
	o := base
	o.SeedsDir = "/var/lib/clawd/nix-secrets-seeds"
	if err := checkOptions(o); err != nil {
		t.Errorf("a sibling sharing a name prefix: %v", err)
	}
}

// TestMkdirs: mkdirs makes the missing directories, says which, and
// removeCreated takes exactly those away again.
func TestMkdirs(t *testing.T) {
	root := t.TempDir()
	made, err := mkdirs(filepath.Join(root, "a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), filepath.Join(root, "a", "b", "c")}
	if !slices.Equal(made, want) {
		t.Fatalf("made %v, want %v", made, want)
	}
	if again, err := mkdirs(filepath.Join(root, "a", "b")); err != nil || len(again) != 0 {
		t.Errorf("existing directories: made %v, %v", again, err)
	}
	removeCreated(made)
	if _, err := os.Lstat(filepath.Join(root, "a")); !os.IsNotExist(err) {
		t.Errorf("removeCreated left %s: %v", filepath.Join(root, "a"), err)
	}
	if _, err := os.Lstat(root); err != nil {
		t.Errorf("removeCreated removed what it did not make: %v", err)
	}
}

// TestCleanStale removes install's own leftovers next to each destination,
// and nothing else, even with glob characters in a name.
func TestCleanStale(t *testing.T) {
	root := t.TempDir()
	opt := Options{SecretsDir: filepath.Join(root, "s[1]"), SeedsDir: filepath.Join(root, "seeds"), KeyPath: filepath.Join(root, "k", "key")}
	os.MkdirAll(filepath.Join(root, "k"), 0o755)
	stale := []string{filepath.Join(root, ".s[1].install-1"), filepath.Join(root, ".seeds.install-2"), filepath.Join(root, "k", ".key.install-3")}
	kept := []string{filepath.Join(root, ".s1.install-4"), filepath.Join(root, ".seeds.other"), filepath.Join(root, "k", "key.install-5"), filepath.Join(root, "seeds")}
	for _, p := range append(slices.Clone(stale), kept...) {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cleanStale(opt)
	for _, p := range stale {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

// TestSentinel: the sentinel names the prefix, the statement and the
// seeds tree, and differs when any does.
func TestSentinel(t *testing.T) {
	a := string(Sentinel("bootstrap/x", "aa", "cc"))
	if !strings.Contains(a, "prefix bootstrap/x\n") || !strings.Contains(a, "statement sha256:aa\n") || !strings.Contains(a, "seeds sha256:cc\n") {
		t.Errorf("sentinel %q", a)
	}
	if a == string(Sentinel("bootstrap/y", "aa", "cc")) || a == string(Sentinel("bootstrap/x", "ab", "cc")) || a == string(Sentinel("bootstrap/x", "aa", "cd")) {
		t.Error("the sentinel does not tell prefixes, statements or seeds apart")
	}
}

// TestSequenceRule: lower than the record or the floor is refused, equal
// to the record only with its statement, and a record above the floor
// rules; each refusal names both numbers.
func TestSequenceRule(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	rec := &Record{Prefix: "p", Sequence: 5, Statement: a}
	for _, tc := range []struct {
		name  string
		rec   *Record
		floor uint64
		seq   uint64
		dig   string
		want  string
	}{
		{"no record, no floor, v1", nil, 0, 0, a, ""},
		{"no record, at the floor", nil, 3, 3, a, ""},
		{"no record, below the floor", nil, 3, 2, a, "sequence 2 is lower than 3, the floor"},
		{"above the record", rec, 0, 6, b, ""},
		{"the record's statement", rec, 0, 5, a, ""},
		{"the record's number, another statement", rec, 0, 5, b, "sequence 5 is the one this host installed (F) with another statement (sha256 bbbbbbbbbbbb, installed aaaaaaaaaaaa)"},
		{"below the record", rec, 0, 4, a, "sequence 4 is lower than 5, the highest this host installed from this prefix (F)"},
		{"below the record, above the floor", rec, 2, 4, a, "lower than 5"},
		{"at the record, below the floor", rec, 7, 5, a, "sequence 5 is lower than 7, the floor"},
		{"above the floor, record higher", rec, 7, 6, a, "sequence 6 is lower than 7, the floor"},
	} {
		got := sequenceRule(tc.rec, tc.floor, tc.seq, tc.dig, "F")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRecord: a record reads back as written, under its prefix's escaped
// name; anything else is refused.
func TestRecord(t *testing.T) {
	dir := t.TempDir()
	r := Record{Prefix: "bootstrap/clawdinator-1", Sequence: 1800000000, Statement: strings.Repeat("c", 64)}
	if got, err := readRecord(dir, r.Prefix); got != nil || err != nil {
		t.Fatalf("no record: %v %v", got, err)
	}
	if err := writeRecord(dir, r); err != nil {
		t.Fatal(err)
	}
	if p := RecordPath(dir, r.Prefix); filepath.Base(p) != "bootstrap%2Fclawdinator-1.sequence" {
		t.Errorf("record at %s", p)
	}
	if got, err := readRecord(dir, r.Prefix); err != nil || got == nil || *got != r {
		t.Fatalf("read back: %+v %v", got, err)
	}
	if got, err := readRecord(dir, "bootstrap/clawdinator-2"); got != nil || err != nil {
		t.Errorf("another prefix: %v %v", got, err)
	}
	good := string(r.marshal())
	for name, bad := range map[string]string{
		"another prefix inside": strings.Replace(good, "prefix bootstrap/clawdinator-1", "prefix bootstrap/x", 1),
		"no number":             strings.Replace(good, "sequence 1800000000", "sequence x", 1),
		"negative":              strings.Replace(good, "sequence 1800000000", "sequence -1", 1),
		"short digest":          strings.Replace(good, strings.Repeat("c", 64), "cc", 1),
		"no header":             strings.Replace(good, "clawdinator-bundle sequence record\n", "", 1),
		"trailing line":         good + "x\n",
	} {
		if err := os.WriteFile(RecordPath(dir, r.Prefix), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := readRecord(dir, r.Prefix); err == nil {
			t.Errorf("%s: read as %+v", name, got)
		}
	}
}
