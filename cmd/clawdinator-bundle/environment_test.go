package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

const testKey = "AGE-SECRET-KEY-1X"

// readBoth reads mode's options from the command line and from the
// Action's inputs, with the same environment.
func readBoth(t *testing.T, mode string, e map[string]string, args ...string) map[string]func() (modeCommand, error) {
	t.Helper()
	full := map[string]string{"CLAWDINATOR_AGE_KEY": testKey, "INPUT_AGE-KEY": testKey, "INPUT_MODE": mode, "INPUT_S3-BUCKET": "b"}
	if mode == config.Verify {
		full["INPUT_EXPECTED-RECIPIENT"] = "none"
	}
	for k, v := range e {
		full[k] = v
	}
	getenv := func(k string) string { return full[k] }
	if mode == config.Publish || mode == config.Verify {
		args = append([]string{"--s3-bucket", "b"}, args...)
	}
	if mode == config.Verify {
		args = append([]string{"--expected-recipient", "none"}, args...)
	}
	return map[string]func() (modeCommand, error){
		"args": func() (modeCommand, error) {
			o := newMode(mode)
			_, set, err := config.ParseArgs(context.Background(), mode, args, getenv, o.bindings(), io.Discard)
			if err == nil {
				err = o.environment(getenv, set)
			}
			return o, err
		},
		"inputs": func() (modeCommand, error) {
			o := newMode(mode)
			set, err := config.ReadInputs(mode, getenv, o.bindings())
			if err == nil {
				err = o.environment(getenv, set)
			}
			return o, err
		},
	}
}

// built returns the gate inputs and publish options of publish or assemble.
func built(o modeCommand) (*gate.Inputs, manifest.Source) {
	switch o := o.(type) {
	case *publishOptions:
		return &o.gate, o.publish.Source
	case *assembleOptions:
		return &o.gate, o.publish.Source
	}
	return nil, manifest.Source{}
}

func TestSourceDateEpoch(t *testing.T) {
	for _, tc := range []struct {
		mode, v string
		want    time.Time
		wantErr bool
	}{
		{config.Publish, "", time.Unix(0, 0).UTC(), false},
		{config.Assemble, "", time.Unix(0, 0).UTC(), false},
		{config.Publish, "0", time.Unix(0, 0).UTC(), false},
		{config.Assemble, "1700000000", time.Unix(1700000000, 0).UTC(), false},
		{config.Publish, "-1", time.Time{}, true},
		{config.Assemble, "yesterday", time.Time{}, true},
		{config.Publish, "1.5", time.Time{}, true},
		{config.Publish, " 1", time.Time{}, true},
		// verify and plan stamp nothing and ignore it.
		{config.Verify, "yesterday", time.Time{}, false},
		{config.Plan, "yesterday", time.Time{}, false},
	} {
		for via, read := range readBoth(t, tc.mode, map[string]string{"SOURCE_DATE_EPOCH": tc.v}) {
			o, err := read()
			if tc.wantErr {
				var ue *problem.UsageError
				if !errors.As(err, &ue) || err.Error() != `SOURCE_DATE_EPOCH must be a non-negative integer, got "`+tc.v+`"` {
					t.Errorf("%s %s %q: got %v (%T)", via, tc.mode, tc.v, err, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s %q: %v", via, tc.mode, tc.v, err)
				continue
			}
			if in, _ := built(o); in != nil && (!in.Mtime.Equal(tc.want) || in.Mtime.Location() != time.UTC) {
				t.Errorf("%s %s %q: Mtime %v, want %v UTC", via, tc.mode, tc.v, in.Mtime, tc.want)
			}
		}
	}
}

func TestSourceFromGitHub(t *testing.T) {
	for _, mode := range []string{config.Publish, config.Assemble} {
		for via, read := range readBoth(t, mode, map[string]string{"GITHUB_REPOSITORY": "openclaw/x", "GITHUB_SHA": "abc", "GITHUB_RUN_ID": "42"}) {
			o, err := read()
			if _, src := built(o); err != nil || src != (manifest.Source{Repository: "openclaw/x", SHA: "abc", RunID: "42"}) {
				t.Errorf("%s %s: %v %+v", via, mode, err, src)
			}
		}
		for via, read := range readBoth(t, mode, nil) {
			o, err := read()
			if _, src := built(o); err != nil || src != (manifest.Source{}) {
				t.Errorf("%s %s without GITHUB_*: %v %+v", via, mode, err, src)
			}
		}
	}
}

// Verify compares with a secrets dir that was given, or with the default
// one when it is checked out; publish and assemble read theirs anyway. A
// directory given that is not there is a usage error, not drift.
func TestCompareSecretsDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		layout  string // "dir", "file" or "" for what is at nix/age-secrets
		args    []string
		inputs  map[string]string
		compare string
	}{
		{"default missing", "", nil, nil, ""},
		{"default checked out", "dir", nil, nil, "nix/age-secrets"},
		{"default is a file", "file", nil, nil, ""},
		{"given, missing", "", []string{"--secrets-dir", "elsewhere"}, map[string]string{"INPUT_SECRETS-DIR": "elsewhere"}, "refused"},
		{"given, the default's path", "", []string{"--secrets-dir", "./nix/age-secrets"}, map[string]string{"INPUT_SECRETS-DIR": "./nix/age-secrets"}, "refused"},
		{"given as the default, checked out", "dir", nil, map[string]string{"INPUT_SECRETS-DIR": "nix/age-secrets"}, "nix/age-secrets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
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
			for via, read := range readBoth(t, config.Verify, tc.inputs, tc.args...) {
				o, err := read()
				if tc.compare == "refused" {
					if err == nil || !strings.Contains(err.Error(), "is not a directory") {
						t.Errorf("%s: %v, want a usage error", via, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := o.(*verifyOptions).in.SecretsDir; got != tc.compare {
					t.Errorf("%s: compared with %q, want %q", via, got, tc.compare)
				}
			}
		})
	}
	// Given as the default on the Action, missing: the runner passes every
	// default, so it cannot be told from unset: nothing is compared, and
	// the run says so (noDrift). On the CLI the flag was given: refused.
	t.Chdir(t.TempDir())
	for via, read := range readBoth(t, config.Verify, map[string]string{"INPUT_SECRETS-DIR": "nix/age-secrets"}, "--secrets-dir", "nix/age-secrets") {
		o, err := read()
		switch via {
		case "args":
			if err == nil {
				t.Errorf("args: a missing --secrets-dir was not refused")
			}
		default:
			if err != nil || o.(*verifyOptions).in.SecretsDir != "" || !o.(*verifyOptions).noDrift {
				t.Errorf("%s: %v, compared with %q, noDrift %v", via, err, o.(*verifyOptions).in.SecretsDir, o.(*verifyOptions).noDrift)
			}
		}
	}
}

// What spans the bucket's options is checked once, by the S3 client, and
// is a usage error before anything is read: through the CLI and the Action.
func TestBucketOptionsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"bad sse":        {[]string{"publish", "--sse", "des"}, `sse must be AES256, aws:kms or none, got "des"`},
		"kms id w/o kms": {[]string{"publish", "--sse-kms-key-id", "x"}, "sse-kms-key-id needs sse: aws:kms"},
		"bad endpoint":   {[]string{"verify", "--expected-recipient", "none", "--s3-endpoint", "localhost:9000"}, `s3-endpoint must be an http:// or https:// URL, got "localhost:9000"`},
		"verify no bkt":  {[]string{"verify", "--expected-recipient", "none", "--s3-bucket", ""}, "s3-bucket is required for verify"},
	} {
		args := tc.args
		if name != "verify no bkt" {
			args = append(args, "--s3-bucket", "b", "--aws-region", "us-east-1")
		}
		code, stdout, stderr := runIn(t, map[string]string{"CLAWDINATOR_AGE_KEY": testKey}, args...)
		if code != exitUsage || stdout != "" || stderr != "clawdinator-bundle: error: "+tc.want+"\n" {
			t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", name, code, stdout, stderr)
		}
	}
}
