package config

import (
	"regexp"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

// section returns the lines of Help's section that starts with header.
func section(help, header string) string {
	_, after, ok := strings.Cut(help, "\n"+header+"\n")
	if !ok {
		return ""
	}
	before, _, _ := strings.Cut(after, "\n\n")
	return before
}

func TestHelpFlags(t *testing.T) {
	for mode, want := range map[string][]string{
		Publish: {"--age-key-file FILE", "--secrets-dir DIR", "--secrets-s3-prefix PREFIX", "--secrets-lock FILE", "--repo-seeds-dir DIR", "--instances-file FILE", "--instances LIST",
			"--required-secrets LIST", "--exclude-secrets LIST", "--repo-seeds-allow-keys LIST", "--s3-bucket NAME", "--aws-region REGION",
			"--s3-endpoint URL", "--expected-recipient RECIPIENT", "--sse TYPE", "--sse-kms-key-id KEY", "--expected-bucket-owner ACCOUNT",
			"--deep-verify", "--json", "-h, --help"},
		Verify: {"--secrets-dir DIR", "--secrets-s3-prefix PREFIX", "--secrets-lock FILE", "--instances-file FILE", "--instances LIST", "--required-secrets LIST", "--exclude-secrets LIST",
			"--s3-bucket NAME", "--dir DIR", "--aws-region REGION", "--s3-endpoint URL", "--expected-recipient RECIPIENT",
			"--expected-bucket-owner ACCOUNT", "--deep-verify", "--json", "-h, --help"},
		Assemble: {"--age-key-file FILE", "--secrets-dir DIR", "--repo-seeds-dir DIR", "--instances-file FILE", "--instances LIST",
			"--required-secrets LIST", "--exclude-secrets LIST", "--repo-seeds-allow-keys LIST", "--expected-recipient RECIPIENT",
			"--deep-verify", "--output-dir DIR, --out DIR", "--json", "-h, --help"},
		// The instances file and what selects or refuses an instance in
		// it: nothing that reads a key, a bucket or the secrets.
		Plan: {"--instances-file FILE", "--instances LIST", "--required-secrets LIST", "--exclude-secrets LIST", "--json", "-h, --help"},
	} {
		t.Run(mode, func(t *testing.T) {
			help := Help(mode)
			if !strings.HasPrefix(help, "usage: clawdinator-bundle "+mode+" [flags]\n\n"+wrap(summaries[mode], "", width)+"\nflags:\n") {
				t.Errorf("usage line:\n%s", help)
			}
			// The flag lines, in order: every flag and nothing else.
			var got []string
			for _, line := range strings.Split(section(help, "flags:"), "\n") {
				if strings.HasPrefix(line, "  -") {
					got = append(got, strings.TrimPrefix(line, "  "))
				} else if !strings.HasPrefix(line, indent) || len(line) <= len(indent) {
					t.Errorf("%q is neither a flag nor its description", line)
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("flags:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// GNU style only; Markdown gone; lines fit a terminal.
			if m := regexp.MustCompile(`(^|[\s(])-[a-z][a-z0-9-]+`).FindString(help); m != "" {
				t.Errorf("single-dash long flag %q in help", m)
			}
			if strings.Contains(help, "`") {
				t.Errorf("Markdown backquote in help:\n%s", help)
			}
			for _, line := range strings.Split(help, "\n") {
				if len(line) > width {
					t.Errorf("line longer than %d: %q", width, line)
				}
			}
			if !strings.HasSuffix(help, "\n") || strings.HasSuffix(help, "\n\n") {
				t.Errorf("help does not end in one newline: %q", help[len(help)-20:])
			}
		})
	}
}

func TestHelpDescriptionsAndDefaults(t *testing.T) {
	help := Help(Publish)
	for _, want := range []string{
		"  --secrets-dir DIR\n        Directory of '*.age' files. In verify mode, the drift reference: bundled\n        secrets that differ from these files are reported as drift; when the\n        default directory is absent, the drift check does not run and the run\n        says so. A directory given that does not exist is exit status 2.\n        Exclusive with 'secrets-s3-prefix'. (default: nix/age-secrets)\n",
		"  --sse TYPE\n        Server-side encryption for uploads: 'AES256', 'aws:kms' or 'none'.\n        (default: AES256)\n",
		"  --exclude-secrets LIST\n        Comma or newline separated globs of files never shipped to hosts\n        (warned, not bundled). (default: clawdinator-image-*.age)\n",
		"  --instances LIST\n        Comma or newline separated instance names to process (default: all).\n  --required",
		"  --deep-verify\n        Also download and fully unpack every repo-seeds archive (default: verify\n        it by SHA-256 checksum).\n  --json\n",
		"  --age-key-file FILE\n        File holding the age identity (default: $CLAWDINATOR_AGE_KEY).\n",
		"\nA LIST is comma or newline separated; a list flag may be repeated, each time\nadding to the list (the first replaces the default).\n",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("publish help lacks %q:\n%s", want, help)
		}
	}
	if words := strings.Join(strings.Fields(help), " "); !strings.Contains(words, "every instance must receive. (default: "+strings.Join(plan.DefaultRequired, ", ")+") --exclude-secrets") {
		t.Errorf("required-secrets default:\n%s", help)
	}
	if v := Help(Verify); !strings.Contains(v, "  --dir DIR\n        Verify a local directory written by 'assemble --out' instead of a\n        bucket.\n") {
		t.Errorf("verify --dir:\n%s", v)
	}
	if a := Help(Assemble); !strings.Contains(a, "  --output-dir DIR, --out DIR\n        Assemble only: where to write the bundles, laid out as the bucket.\n        Empty: check and build in memory, write nothing (a pull-request gate).\n  --json") {
		t.Errorf("assemble --output-dir:\n%s", a)
	}
}

func TestHelpEnvironment(t *testing.T) {
	aws := []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"}
	source := []string{"GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_RUN_ID"}
	cat := func(l ...[]string) []string {
		var out []string
		for _, x := range l {
			out = append(out, x...)
		}
		return out
	}
	for mode, want := range map[string][]string{
		Publish:  cat([]string{"CLAWDINATOR_AGE_KEY"}, aws, []string{"SOURCE_DATE_EPOCH"}, source, []string{"CLAWDINATOR_PROGRESS"}),
		Verify:   cat(aws, []string{"CLAWDINATOR_PROGRESS"}),
		Assemble: {"CLAWDINATOR_AGE_KEY", "SOURCE_DATE_EPOCH", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_RUN_ID", "CLAWDINATOR_PROGRESS"},
		Demo:     {"CLAWDINATOR_PROGRESS"},
	} {
		var got []string
		for _, line := range strings.Split(section(Help(mode), "environment:"), "\n") {
			if name, ok := strings.CutPrefix(line, "  "); ok && !strings.HasPrefix(name, " ") {
				got = append(got, name)
			}
		}
		if !eq(got, want...) {
			t.Errorf("%s environment: %v, want %v", mode, got, want)
		}
	}
	if h := Help(Publish); !strings.Contains(h, "  CLAWDINATOR_PROGRESS\n        0 disables the progress lines.\n") ||
		!strings.Contains(h, "  SOURCE_DATE_EPOCH\n        Mtime stamped on archive entries (repo-seeds files and symlinks take\n") {
		t.Errorf("environment descriptions:\n%s", h)
	}
}

func TestHelpExitStatus(t *testing.T) {
	cli := "  0 all good\n  1 problems found: validation (nothing was written) or verification\n  2 bad usage or configuration\n" +
		"  3 could not complete: S3 unreachable, access denied, no such bucket, timed out\n"
	for _, mode := range []string{Publish, Verify, Assemble} {
		if h := Help(mode); !strings.HasSuffix(h, "\nexit status:\n"+cli) {
			t.Errorf("%s exit status:\n%s", mode, h)
		}
	}
	// plan reads one file and contacts nothing: it cannot fail to complete.
	plan := "  0 all good: the plan is printed\n  1 problems found in the instances file or the selection: no instance is listed\n  2 bad usage or configuration\n"
	if h := Help(Plan); !strings.HasSuffix(h, "\nexit status:\n"+plan) || strings.Contains(h, "environment:") {
		t.Errorf("plan exit status and environment:\n%s", h)
	}
	demo := "  0 the demo passed\n  2 bad usage (demo takes no arguments)\n  3 a step failed, or verify missed the tampered object\n"
	if h := Help(Demo); !strings.HasSuffix(h, "\nexit status:\n"+demo) {
		t.Errorf("demo exit status:\n%s", h)
	}
}

func TestHelpDemo(t *testing.T) {
	h := Help(Demo)
	if !strings.HasPrefix(h, "usage: clawdinator-bundle demo\n\nRun publish and verify end to end") || strings.Contains(h, "flags:") || strings.Contains(h, "--") {
		t.Fatalf("demo help:\n%s", h)
	}
	for _, mode := range []string{"", "Publish", "help"} {
		if h := Help(mode); h != "" {
			t.Errorf("Help(%q) = %q, want empty", mode, h)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		text, prefix string
		width        int
		want         string
	}{
		{"aaa bbb ccc", "  ", 9, "  aaa bbb\n  ccc\n"},                         // a line exactly width long
		{"aaa bbb ccc", "  ", 10, "  aaa bbb\n  ccc\n"},                        // one short of the next word
		{"aaa bbb ccc", "  ", 8, "  aaa\n  bbb\n  ccc\n"},                      // one past
		{"aaa bbb ccc", "", 11, "aaa bbb ccc\n"},                               // all on one line
		{"averyveryverylongword b", "  ", 5, "  averyveryverylongword\n  b\n"}, // a long word stands alone
		{"  a \n\n b  ", ">", 80, ">a b\n"},                                    // white space collapsed
		{"", "  ", 80, "  \n"},
	} {
		if got := wrap(tc.text, tc.prefix, tc.width); got != tc.want {
			t.Errorf("wrap(%q, %q, %d) = %q, want %q", tc.text, tc.prefix, tc.width, got, tc.want)
		}
	}
}

// install's help: the boot script's arguments, its flags from the table,
// its environment and what its exit statuses mean on a host.
func TestHelpInstall(t *testing.T) {
	h := Help(Install)
	for _, want := range []string{
		"usage: clawdinator-bundle install [flags] BUCKET PREFIX SECRETS_DIR REPO_SEEDS_DIR AGE_KEY_PATH [SECRETS_ARCHIVE SEEDS_ARCHIVE]\n\nInstall a host's bundle",
		"\nflags:\n  --aws-region REGION\n", "  --s3-endpoint URL\n", "  --expected-recipient RECIPIENT\n", "  --expected-recipient-file FILE\n", "  --allow-unpinned-first-boot\n",
		"  --strict\n", "  --check\n", "  --state-dir DIR\n", "  --lock-timeout SECONDS\n", "  --sequence-floor N\n", "  --json\n",
		"  BOOTSTRAP_PREFIX_FILE\n", "/etc/clawdinator/bootstrap-prefix",
		"\nexit status:\n  0 installed, or already installed; with --check, up to date or a change\n  pending;", "\n  1 refused:", "  3 could not complete:",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("install help lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "--s3-bucket") || strings.Contains(h, "A LIST") {
		t.Errorf("install help shows another command's flags:\n%s", h)
	}
	if v := Help(Version); v != "usage: clawdinator-bundle version\n\nPrint the version.\n\nexit status:\n  0 the version is printed\n  2 bad usage (version takes no arguments)\n" {
		t.Errorf("version help:\n%s", v)
	}
}
