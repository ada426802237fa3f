//go:build linux

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// installEnv keeps the AWS SDK off the network while install's options are
// read: a region, no instance metadata. The bucket is never reached.
func installEnv(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "none")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "none")
}

// hostArgs are install's positional arguments into a fresh host root, with
// an endpoint where nothing listens.
func hostArgs(t *testing.T, prefix string) []string {
	root := t.TempDir()
	return []string{"--s3-endpoint", "http://127.0.0.1:9", "--state-dir=" + filepath.Join(root, "state"), "no-such-bucket", prefix,
		filepath.Join(root, "secrets"), filepath.Join(root, "repo-seeds"), filepath.Join(root, "keys/clawdinator.agekey")}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunInstallUsage: bad options are exit 2 with one clear message, before
// anything is fetched or written.
func TestRunInstallUsage(t *testing.T) {
	installEnv(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secret, recipient := id.String(), id.Recipient().String()
	noPrefixFile := map[string]string{"BOOTSTRAP_PREFIX_FILE": filepath.Join(t.TempDir(), "none")}
	host := hostArgs(t, "bootstrap/clawdinator-1")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no arguments", nil, "install takes 5 or 7 arguments"},
		{"four arguments", host[:len(host)-1], "install takes 5 or 7 arguments"},
		{"six arguments", append(append([]string(nil), host...), "secrets.tar.zst"), "both archive names or neither, as the fleet's unit passes them), got 6"},
		{"eight arguments", append(append([]string(nil), host...), "secrets.tar.zst", "repo-seeds.tar.zst", "extra"), "got 8"},
		{"both pins", append([]string{"--expected-recipient", recipient, "--expected-recipient-file", writeTemp(t, recipient+"\n")}, host...), "not both"},
		{"pin file without a recipient", append([]string{"--expected-recipient-file", writeTemp(t, "# the fleet key\n\n")}, host...), "want exactly one age1... line, found 0"},
		{"pin file with two recipients", append([]string{"--expected-recipient-file", writeTemp(t, recipient+"\n"+recipient+"\n")}, host...), "found 2"},
		{"pin file missing", append([]string{"--expected-recipient-file", filepath.Join(t.TempDir(), "nope")}, host...), "no such file"},
		{"pin not a recipient", append([]string{"--expected-recipient", "age1nope"}, host...), "is not an age recipient"},
		{"no pin", host, "no pin: pass --expected-recipient"},
		{"bad endpoint", append([]string{"--expected-recipient", recipient}, append(host[2:], "--s3-endpoint", "ftp://x")...), "s3-endpoint must be an http"},
		{"relative SECRETS_DIR", append([]string{"--expected-recipient", recipient}, host[2], host[3], host[4], "secrets", host[6], host[7]), "SECRETS_DIR \"secrets\": want a clean absolute path"},
		{"overlapping destinations", append([]string{"--expected-recipient", recipient}, host[2], host[3], host[4], host[5], host[5], host[7]), "overlap"},
		{"state dir in SECRETS_DIR", append([]string{"--expected-recipient", recipient, "--state-dir", host[5] + "/state"}, host[3:]...), "overlap"},
		{"relative state dir", append([]string{"--expected-recipient", recipient, "--state-dir", "state"}, host[3:]...), "--state-dir \"state\": want a clean absolute path"},
		{"lock timeout", append([]string{"--expected-recipient", recipient, "--lock-timeout", "300"}, host...), "want whole seconds from 1 to 280"},
		{"sequence floor", append([]string{"--expected-recipient", recipient, "--sequence-floor", "-1"}, host...), "want a non-negative integer"},
		{"bad PREFIX", append([]string{"--expected-recipient", recipient}, host[2], host[3], "a//b", host[5], host[6], host[7]), `PREFIX "a//b"`},
		{"SEEDS_ARCHIVE with a slash", append(append([]string{"--expected-recipient", recipient}, host...), "secrets.tar.zst", "../x"), "SEEDS_ARCHIVE"},
		{"unknown flag", append([]string{"--expected-recipents", recipient}, host...), "flag provided but not defined: --expected-recipents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, noPrefixFile, append([]string{"install"}, tc.args...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if strings.Count(stderr, "error:") != 1 || stdout != "" {
				t.Fatalf("want one error line and no stdout\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
			if strings.Contains(stderr, "fetching") {
				t.Fatalf("a bad configuration reached the bucket:\n%s", stderr)
			}
		})
	}

	// A private key where the pin goes: refused, and never echoed.
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"identity as --expected-recipient", append([]string{"--expected-recipient", secret}, host...)},
		{"identity in the pin file", append([]string{"--expected-recipient-file", writeTemp(t, "# pin\n"+secret+"\n")}, host...)},
		{"identity and a recipient in the pin file", append([]string{"--expected-recipient-file", writeTemp(t, recipient+"\n"+secret+"\n")}, host...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, noPrefixFile, append([]string{"install"}, tc.args...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitUsage, stderr)
			}
			if strings.Contains(stdout+stderr, "AGE-SECRET-KEY") || strings.Contains(stdout+stderr, secret[len("AGE-SECRET-KEY-1"):]) {
				t.Fatalf("the private key reached the output:\n%s%s", stdout, stderr)
			}
		})
	}
}

func TestRunInstallHelp(t *testing.T) {
	code, stdout, stderr := runIn(t, nil, "install", "--help")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"usage: clawdinator-bundle install", "BUCKET PREFIX SECRETS_DIR REPO_SEEDS_DIR AGE_KEY_PATH [SECRETS_ARCHIVE SEEDS_ARCHIVE]",
		"--expected-recipient ", "--expected-recipient-file", "--s3-endpoint", "--allow-unpinned-first-boot", "BOOTSTRAP_PREFIX_FILE", "/etc/clawdinator/bootstrap-prefix", "exit status"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("install --help lacks %q:\n%s", want, stdout)
		}
	}
}

// TestRunInstallPrefixFile: BOOTSTRAP_PREFIX_FILE replaces PREFIX when it
// holds one, as the boot script reads it, and says so; an empty or missing
// file keeps the argument. The run stops at the pin (none is given), so
// what shows which prefix was used is the output, and a PREFIX argument
// install would refuse.
func TestRunInstallPrefixFile(t *testing.T) {
	installEnv(t)
	host := hostArgs(t, "not//clean")
	for _, tc := range []struct {
		name    string
		content *string
		want    string
		wantNot string
	}{
		{"a prefix", ptr("bootstrap/clawdinator-2\n"), "prefix bootstrap/clawdinator-2 (from ", `PREFIX "not//clean"`},
		{"blank", ptr(" \n"), `PREFIX "not//clean"`, "(from "},
		{"empty", ptr(""), `PREFIX "not//clean"`, "(from "},
		{"missing", nil, `PREFIX "not//clean"`, "(from "},
		{"a control character", ptr("boot\x1b[2Jstrap\n"), `PREFIX "boot\x1b[2Jstrap"`, "\x1b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bootstrap-prefix")
			if tc.content != nil {
				if err := os.WriteFile(file, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, _, stderr := runIn(t, map[string]string{"BOOTSTRAP_PREFIX_FILE": file}, append([]string{"install"}, host...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Contains(stderr, tc.wantNot) {
				t.Fatalf("want %q and not %q in:\n%s", tc.want, tc.wantNot, stderr)
			}
			if tc.name == "a prefix" && !strings.Contains(stderr, "(from "+file+")") {
				t.Fatalf("the file is not named:\n%s", stderr)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// TestRunInstallChecksBeforeTheBucket: what install was given is checked
// before the bucket is opened, so that off EC2, with no region, the
// operator reads what is wrong with the options, not what the AWS
// configuration lacks.
func TestRunInstallChecksBeforeTheBucket(t *testing.T) {
	installEnv(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recipient := id.Recipient().String()
	host := hostArgs(t, "bootstrap/clawdinator-1")[2:] // no endpoint: AWS itself
	noPrefixFile := map[string]string{"BOOTSTRAP_PREFIX_FILE": filepath.Join(t.TempDir(), "none")}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"both pins", noPrefixFile, append([]string{"--expected-recipient", recipient, "--expected-recipient-file", writeTemp(t, recipient+"\n")}, host...), "not both"},
		{"pin file missing", noPrefixFile, append([]string{"--expected-recipient-file", filepath.Join(t.TempDir(), "nope")}, host...), "expected-recipient-file"},
		{"prefix file a directory", map[string]string{"BOOTSTRAP_PREFIX_FILE": t.TempDir()}, append([]string{"--expected-recipient", recipient}, host...), "BOOTSTRAP_PREFIX_FILE"},
		{"no pin", noPrefixFile, host, "no pin: pass --expected-recipient"},
		// The premise: with good options, the missing region is what stops it.
		{"good options", noPrefixFile, append([]string{"--expected-recipient", recipient}, host...), "no AWS region: none was set and the EC2 instance metadata gave none (not on EC2?): set AWS_REGION or pass --aws-region"},
	} {
		code, _, stderr := runIn(t, tc.env, append([]string{"install"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "error:") != 1 {
			t.Errorf("%s: exit %d, want %d and one error containing %q:\n%s", tc.name, code, exitUsage, tc.want, stderr)
		}
	}
}

// TestRunInstallNoRegion: off EC2 with no region, instance metadata
// answers 403 (as a laptop's or a container's might): one line says to set
// AWS_REGION, exit 2, and --aws-region is the way out.
func TestRunInstallNoRegion(t *testing.T) {
	installEnv(t)
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Forbidden", http.StatusForbidden)
	}))
	defer imds.Close()
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	noPrefixFile := map[string]string{"BOOTSTRAP_PREFIX_FILE": filepath.Join(t.TempDir(), "none")}
	host := append([]string{"--expected-recipient", id.Recipient().String()}, hostArgs(t, "bootstrap/clawdinator-1")...)
	code, _, stderr := runIn(t, noPrefixFile, append([]string{"install"}, host...)...)
	if code != exitUsage || strings.Count(stderr, "error:") != 1 || !strings.Contains(stderr, "error: no AWS region: none was set and the EC2 instance metadata gave none (not on EC2?): set AWS_REGION or pass --aws-region") {
		t.Errorf("exit %d, want %d and one line saying to set AWS_REGION:\n%s", code, exitUsage, stderr)
	}
	// With --aws-region the bucket is opened (and, nothing listening at
	// the endpoint, the run could not complete).
	code, _, stderr = runIn(t, noPrefixFile, append([]string{"install", "--aws-region", "eu-central-1"}, host...)...)
	if code != exitFailed || strings.Contains(stderr, "AWS_REGION") {
		t.Errorf("with --aws-region: exit %d, want %d:\n%s", code, exitFailed, stderr)
	}
}
