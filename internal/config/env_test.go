package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// both runs FromArgs and FromInputs for mode with the same environment.
func both(t *testing.T, mode string, e map[string]string) map[string]func() (*Config, error) {
	t.Helper()
	full := map[string]string{"CLAWDINATOR_AGE_KEY": testKey, "INPUT_AGE-KEY": testKey, "INPUT_MODE": mode, "INPUT_S3-BUCKET": "b"}
	for k, v := range e {
		full[k] = v
	}
	var a []string
	if mode != Assemble {
		a = []string{"--s3-bucket", "b"}
	}
	return map[string]func() (*Config, error){
		"args":   func() (*Config, error) { return FromArgs(mode, a, env(full), &strings.Builder{}) },
		"inputs": func() (*Config, error) { return FromInputs(env(full)) },
	}
}

func TestSourceDateEpoch(t *testing.T) {
	for _, tc := range []struct {
		mode, v string
		want    time.Time
		wantErr bool
	}{
		{Publish, "", time.Unix(0, 0).UTC(), false},
		{Assemble, "", time.Unix(0, 0).UTC(), false},
		{Publish, "0", time.Unix(0, 0).UTC(), false},
		{Assemble, "1700000000", time.Unix(1700000000, 0).UTC(), false},
		{Publish, "-1", time.Time{}, true},
		{Assemble, "yesterday", time.Time{}, true},
		{Publish, "1.5", time.Time{}, true},
		{Publish, " 1", time.Time{}, true},
		// verify stamps nothing and ignores it.
		{Verify, "yesterday", time.Time{}, false},
		{Verify, "1700000000", time.Time{}, false},
	} {
		for via, run := range both(t, tc.mode, map[string]string{"SOURCE_DATE_EPOCH": tc.v}) {
			c, err := run()
			if tc.wantErr {
				if _, ok := err.(*UsageError); !ok || err.Error() != `SOURCE_DATE_EPOCH must be a non-negative integer, got "`+tc.v+`"` {
					t.Errorf("%s %s %q: got %v (%T)", via, tc.mode, tc.v, err, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s %q: %v", via, tc.mode, tc.v, err)
				continue
			}
			if !c.Mtime.Equal(tc.want) || c.Mtime.Location() != time.UTC {
				t.Errorf("%s %s %q: Mtime %v, want %v UTC", via, tc.mode, tc.v, c.Mtime, tc.want)
			}
		}
	}
}

func TestSourceFromGitHub(t *testing.T) {
	for _, mode := range []string{Publish, Verify, Assemble} {
		for via, run := range both(t, mode, map[string]string{"GITHUB_REPOSITORY": "openclaw/x", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "42"}) {
			c, err := run()
			if err != nil || c.SourceRepository != "openclaw/x" || c.SourceSHA != "abc" || c.SourceRunID != "42" {
				t.Errorf("%s %s: %v %+v", via, mode, err, c)
			}
		}
		for via, run := range both(t, mode, nil) {
			if c, err := run(); err != nil || c.SourceRepository+c.SourceSHA+c.SourceRunID != "" {
				t.Errorf("%s %s without GITHUB_*: %v %+v", via, mode, err, c)
			}
		}
	}
}

// CompareSecretsDir: verify compares with a secrets dir that was given, or
// with the default one when it is checked out.
func TestCompareSecretsDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    string
		layout  string // "dir", "file" or "" for what is at nix/age-secrets
		args    []string
		inputs  map[string]string
		compare bool
		set     bool
	}{
		{"default missing", Verify, "", nil, nil, false, false},
		{"default checked out", Verify, "dir", nil, nil, true, false},
		{"default is a file", Verify, "file", nil, nil, false, false},
		{"given, missing", Verify, "", []string{"--secrets-dir", "elsewhere"}, map[string]string{"INPUT_SECRETS-DIR": "elsewhere"}, true, true},
		{"given, the default's path", Verify, "", []string{"--secrets-dir", "./nix/age-secrets"}, map[string]string{"INPUT_SECRETS-DIR": "./nix/age-secrets"}, true, true},
		{"given as the default, missing", Verify, "", nil, map[string]string{"INPUT_SECRETS-DIR": "nix/age-secrets"}, false, false},
		{"given as the default, checked out", Verify, "dir", nil, map[string]string{"INPUT_SECRETS-DIR": "nix/age-secrets"}, true, false},
		{"publish reads it anyway", Publish, "dir", nil, nil, false, false},
		{"publish given", Publish, "dir", []string{"--secrets-dir", "s"}, map[string]string{"INPUT_SECRETS-DIR": "s"}, false, true},
		{"assemble", Assemble, "dir", nil, nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			switch tc.layout {
			case "dir":
				if err := os.MkdirAll(filepath.Join("nix", "age-secrets"), 0o755); err != nil {
					t.Fatal(err)
				}
			case "file":
				if err := os.MkdirAll("nix", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join("nix", "age-secrets"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e := map[string]string{"CLAWDINATOR_AGE_KEY": testKey, "INPUT_AGE-KEY": testKey, "INPUT_MODE": tc.mode, "INPUT_S3-BUCKET": "b"}
			for k, v := range tc.inputs {
				e[k] = v
			}
			a := append([]string{"--s3-bucket", "b"}, tc.args...)
			if tc.mode == Assemble {
				a = tc.args
			}
			fromArgs, err := FromArgs(tc.mode, a, env(e), &strings.Builder{})
			if err != nil {
				t.Fatal(err)
			}
			fromInputs, err := FromInputs(env(e))
			if err != nil {
				t.Fatal(err)
			}
			// The CLI has no default to pass: a flag equal to the default
			// is still given.
			argsSet := tc.set
			if tc.name == "given as the default, missing" || tc.name == "given as the default, checked out" {
				argsSet = false
			}
			for via, c := range map[string]*Config{"args": fromArgs, "inputs": fromInputs} {
				if c.CompareSecretsDir != tc.compare {
					t.Errorf("%s: CompareSecretsDir = %v, want %v", via, c.CompareSecretsDir, tc.compare)
				}
			}
			if fromArgs.SecretsDirSet != argsSet || fromInputs.SecretsDirSet != tc.set {
				t.Errorf("SecretsDirSet: args %v, inputs %v; want %v", fromArgs.SecretsDirSet, fromInputs.SecretsDirSet, tc.set)
			}
		})
	}
	// Given on the CLI with the default's own spelling: set.
	t.Chdir(t.TempDir())
	c, err := FromArgs(Verify, []string{"--s3-bucket", "b", "--secrets-dir", "nix/age-secrets"}, env(nil), &strings.Builder{})
	if err != nil || !c.SecretsDirSet || !c.CompareSecretsDir {
		t.Fatalf("--secrets-dir nix/age-secrets: %v %+v", err, c)
	}
}
