package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

const testKey = "AGE-SECRET-KEY-1X"

// args runs FromArgs with a key in the environment, so that publish and
// assemble validate; it fails the test on an error or on anything written
// to the usage writer.
func args(t *testing.T, mode string, a ...string) *Config {
	t.Helper()
	var usage strings.Builder
	c, err := FromArgs(mode, a, env(map[string]string{"CLAWDINATOR_AGE_KEY": testKey}), &usage)
	if err != nil {
		t.Fatalf("FromArgs(%s, %q): %v", mode, a, err)
	}
	if usage.Len() > 0 {
		t.Fatalf("FromArgs(%s, %q) wrote to usage: %s", mode, a, usage.String())
	}
	return c
}

func TestFromArgsGNUStyle(t *testing.T) {
	for name, tc := range map[string]struct {
		mode string
		args []string
		want func(c *Config) bool
	}{
		"--flag value":      {Verify, []string{"--s3-bucket", "b"}, func(c *Config) bool { return c.Bucket == "b" }},
		"--flag=value":      {Verify, []string{"--s3-bucket=b", "--aws-region=eu-west-1"}, func(c *Config) bool { return c.Bucket == "b" && c.Region == "eu-west-1" }},
		"value with spaces": {Verify, []string{"--s3-bucket", " b "}, func(c *Config) bool { return c.Bucket == "b" }},
		"every string flag": {Publish, []string{"--secrets-dir", "s", "--repo-seeds-dir", "r", "--instances-file", "i.json", "--s3-bucket", "b", "--aws-region", "r1",
			"--s3-endpoint", "http://e", "--sse", "aws:kms", "--sse-kms-key-id", "k", "--expected-bucket-owner", "o"}, func(c *Config) bool {
			return c.SecretsDir == "s" && c.RepoSeedsDir == "r" && c.InstancesFile == "i.json" && c.Bucket == "b" && c.Region == "r1" &&
				c.Endpoint == "http://e" && c.SSE == "aws:kms" && c.SSEKMSKeyID == "k" && c.ExpectedOwner == "o"
		}},
		"defaults": {Publish, []string{"--s3-bucket", "b"}, func(c *Config) bool {
			return c.SecretsDir == "nix/age-secrets" && c.RepoSeedsDir == "repo-seeds" && c.InstancesFile == "nix/instances.json" &&
				c.SSE == "AES256" && !c.DeepVerify && !c.JSON && c.Instances == nil && c.SeedsAllowKeys == nil && c.OutputDir == "" &&
				reflect.DeepEqual(c.Required, plan.DefaultRequired) && reflect.DeepEqual(c.Exclude, plan.DefaultExclude) &&
				c.Mode == Publish && string(c.AgeKey) == testKey
		}},
		"--dir":          {Verify, []string{"--dir", "out"}, func(c *Config) bool { return c.Dir == "out" && c.Bucket == "" }},
		"--out":          {Assemble, []string{"--out", "o"}, func(c *Config) bool { return c.OutputDir == "o" }},
		"--out=":         {Assemble, []string{"--out=o"}, func(c *Config) bool { return c.OutputDir == "o" }},
		"--output-dir":   {Assemble, []string{"--output-dir", "o"}, func(c *Config) bool { return c.OutputDir == "o" }},
		"no --out":       {Assemble, nil, func(c *Config) bool { return c.OutputDir == "" }},
		"flags anywhere": {Assemble, []string{"--json", "--out", "o", "--deep-verify"}, func(c *Config) bool { return c.OutputDir == "o" && c.JSON && c.DeepVerify }},

		// Each boolean option is its own variable.
		"--deep-verify alone": {Verify, []string{"--s3-bucket", "b", "--deep-verify"}, func(c *Config) bool { return c.DeepVerify && !c.JSON }},
		"--json alone":        {Verify, []string{"--s3-bucket", "b", "--json"}, func(c *Config) bool { return c.JSON && !c.DeepVerify }},
		"--deep-verify=false": {Verify, []string{"--s3-bucket", "b", "--json", "--deep-verify=false"}, func(c *Config) bool { return c.JSON && !c.DeepVerify }},
		"--deep-verify=true":  {Verify, []string{"--s3-bucket", "b", "--deep-verify=true"}, func(c *Config) bool { return c.DeepVerify }},

		// Lists: commas, newlines and repeats alike.
		"list commas":   {Verify, []string{"--s3-bucket", "b", "--required-secrets", "a.age,b.age"}, func(c *Config) bool { return eq(c.Required, "a.age", "b.age") }},
		"list repeated": {Verify, []string{"--s3-bucket", "b", "--required-secrets", "a.age,b.age", "--required-secrets", "c.age"}, func(c *Config) bool { return eq(c.Required, "a.age", "b.age", "c.age") }},
		"list newlines": {Verify, []string{"--s3-bucket", "b", "--required-secrets=a.age\nb.age\r\n, c.age ,"}, func(c *Config) bool { return eq(c.Required, "a.age", "b.age", "c.age") }},
		"list emptied":  {Verify, []string{"--s3-bucket", "b", "--exclude-secrets", ""}, func(c *Config) bool { return c.Exclude == nil }},
		"every list": {Publish, []string{"--s3-bucket", "b", "--instances", "i1,i2", "--instances", "i3", "--exclude-secrets", "x*,y*",
			"--repo-seeds-allow-keys", "go/testdata/**", "--repo-seeds-allow-keys", "a,b"}, func(c *Config) bool {
			return eq(c.Instances, "i1", "i2", "i3") && eq(c.Exclude, "x*", "y*") && eq(c.SeedsAllowKeys, "go/testdata/**", "a", "b")
		}},
	} {
		t.Run(name, func(t *testing.T) {
			if c := args(t, tc.mode, tc.args...); !tc.want(c) {
				t.Fatalf("%q parsed wrong: %+v", tc.args, c)
			}
		})
	}
}

func eq(got []string, want ...string) bool { return reflect.DeepEqual(got, want) }

func TestFromArgsErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		mode string
		args []string
		want string
	}{
		"unknown flag":             {Verify, []string{"--frobnicate"}, "flag provided but not defined: --frobnicate"},
		"unknown flag=value":       {Verify, []string{"--frobnicate=1"}, "flag provided but not defined: --frobnicate"},
		"one dash, a long flag":    {Verify, []string{"-s3-bucket", "b"}, "flag provided but not defined: -s3-bucket (long flags take two dashes: --s3-bucket)"},
		"one dash, no such flag":   {Verify, []string{"-x"}, "flag provided but not defined: -x"},
		"age key as a flag":        {Publish, []string{"--age-key", testKey}, "flag provided but not defined: --age-key (secrets are never flags"},
		"aws secret as a flag":     {Verify, []string{"--aws-secret-access-key=x"}, "flag provided but not defined: --aws-secret-access-key (secrets are never flags"},
		"--mode is no flag":        {Verify, []string{"--mode", "publish"}, "flag provided but not defined: --mode"},
		"option of another mode":   {Verify, []string{"--out", "o"}, "flag provided but not defined: --out"},
		"publish has no --dir":     {Publish, []string{"--dir", "o"}, "flag provided but not defined: --dir"},
		"verify has no key file":   {Verify, []string{"--age-key-file", "k"}, "flag provided but not defined: --age-key-file"},
		"missing value":            {Assemble, []string{"--out"}, "flag needs an argument: --out"},
		"bad bool":                 {Verify, []string{"--deep-verify=maybe"}, `invalid argument "maybe" for "--deep-verify" flag`},
		"stray argument":           {Assemble, []string{"extra"}, `unexpected argument "extra"`},
		"argument after --":        {Assemble, []string{"--", "--json"}, `unexpected argument "--json"`},
		"bool takes no next value": {Assemble, []string{"--deep-verify", "false"}, `unexpected argument "false"`},
		"validated":                {Publish, nil, "s3-bucket is required for publish"},
	} {
		t.Run(name, func(t *testing.T) {
			var usage strings.Builder
			c, err := FromArgs(tc.mode, tc.args, env(map[string]string{"CLAWDINATOR_AGE_KEY": testKey}), &usage)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
			if _, ok := err.(*UsageError); !ok {
				t.Fatalf("error is %T, want *UsageError", err)
			}
			if c != nil || usage.Len() > 0 {
				t.Fatalf("an error returned a config (%v) or wrote usage (%q)", c, usage.String())
			}
		})
	}
	// Hints only where they apply: a one-dash flag of this mode, a secret.
	for _, a := range [][]string{{"-out"}, {"--out"}, {"--frobnicate"}, {"--age-key-file"}} {
		want := "flag provided but not defined: " + a[0]
		if _, err := FromArgs(Verify, a, env(nil), &strings.Builder{}); err == nil || err.Error() != want {
			t.Errorf("%s in verify: %v, want %q", a[0], err, want)
		}
	}
}

func TestFromArgsHelp(t *testing.T) {
	for _, mode := range []string{Publish, Verify, Assemble, Plan} {
		for _, a := range [][]string{{"--help"}, {"-h"}, {"--instances", "s", "--help"}, {"--json", "-h", "extra"}} {
			var usage strings.Builder
			c, err := FromArgs(mode, a, env(nil), &usage)
			if !errors.Is(err, ErrHelp) || c != nil {
				t.Errorf("%s %q: got %v, %v; want ErrHelp", mode, a, c, err)
			}
			if usage.String() != Help(mode) {
				t.Errorf("%s %q wrote %q, want Help(%s)", mode, a, usage.String(), mode)
			}
		}
	}
}

func TestFromArgsAgeKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(keyFile, []byte("# created\nAGE-SECRET-KEY-1FILE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args    []string
		env     map[string]string
		key     string
		wantErr string
	}{
		"file":              {[]string{"--age-key-file", keyFile}, nil, "# created\nAGE-SECRET-KEY-1FILE\n", ""},
		"file over env":     {[]string{"--age-key-file", keyFile}, map[string]string{"CLAWDINATOR_AGE_KEY": testKey}, "# created\nAGE-SECRET-KEY-1FILE\n", ""},
		"env":               {nil, map[string]string{"CLAWDINATOR_AGE_KEY": testKey}, testKey, ""},
		"none":              {nil, nil, "", "age-key is required for assemble"},
		"empty env":         {nil, map[string]string{"CLAWDINATOR_AGE_KEY": ""}, "", "age-key is required for assemble"},
		"missing file":      {[]string{"--age-key-file", filepath.Join(dir, "nope")}, nil, "", "--age-key-file " + filepath.Join(dir, "nope") + ": no such file or directory"},
		"empty file":        {[]string{"--age-key-file", empty}, map[string]string{"CLAWDINATOR_AGE_KEY": testKey}, "", "--age-key-file " + empty + " is empty"},
		"empty file name":   {[]string{"--age-key-file", ""}, map[string]string{"CLAWDINATOR_AGE_KEY": testKey}, testKey, ""},
		"key for verify no": {[]string{"--age-key-file", keyFile, "--s3-bucket"}, nil, "", "flag provided but not defined"},
	} {
		t.Run(name, func(t *testing.T) {
			mode := Assemble
			if name == "key for verify no" {
				mode = Verify
			}
			c, err := FromArgs(mode, tc.args, env(tc.env), &strings.Builder{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				if _, ok := err.(*UsageError); !ok {
					t.Fatalf("error is %T, want *UsageError", err)
				}
				return
			}
			if err != nil || string(c.AgeKey) != tc.key {
				t.Fatalf("got %v, key %q; want %q", err, c.AgeKey, tc.key)
			}
		})
	}
}

// The Action reads the same lists the same way: commas, newlines.
func TestFromInputsLists(t *testing.T) {
	c, err := FromInputs(env(map[string]string{
		"INPUT_MODE": "publish", "INPUT_AGE-KEY": testKey, "INPUT_S3-BUCKET": "b",
		"INPUT_REQUIRED-SECRETS":      "a.age, b.age\nc.age\n",
		"INPUT_EXCLUDE-SECRETS":       "x*,y*",
		"INPUT_REPO-SEEDS-ALLOW-KEYS": "p/**\nq,r",
		"INPUT_INSTANCES":             "i1,,i2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !eq(c.Required, "a.age", "b.age", "c.age") || !eq(c.Exclude, "x*", "y*") || !eq(c.SeedsAllowKeys, "p/**", "q", "r") || !eq(c.Instances, "i1", "i2") {
		t.Fatalf("lists read wrong: %+v", c)
	}
	// Every input reaches its field.
	c, err = FromInputs(env(map[string]string{
		"INPUT_MODE": "publish", "INPUT_AGE-KEY": testKey, "INPUT_SECRETS-DIR": "s", "INPUT_REPO-SEEDS-DIR": "r",
		"INPUT_INSTANCES-FILE": "i.json", "INPUT_S3-BUCKET": "b", "INPUT_AWS-REGION": "r1", "INPUT_AWS-ACCESS-KEY-ID": "id",
		"INPUT_AWS-SECRET-ACCESS-KEY": "sk", "INPUT_AWS-SESSION-TOKEN": "st", "INPUT_S3-ENDPOINT": "https://e",
		"INPUT_SSE": "aws:kms", "INPUT_SSE-KMS-KEY-ID": "k", "INPUT_EXPECTED-BUCKET-OWNER": "o",
		"INPUT_OUTPUT-DIR": "out", // assemble's: publish does not read it
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Mode: Publish, AgeKey: []byte(testKey), SecretsDir: "s", SecretsDirSet: true, RepoSeedsDir: "r", InstancesFile: "i.json",
		Required: plan.DefaultRequired, Exclude: plan.DefaultExclude, Bucket: "b", Region: "r1", AccessKeyID: "id", SecretAccessKey: "sk",
		SessionToken: "st", Endpoint: "https://e", SSE: "aws:kms", SSEKMSKeyID: "k", ExpectedOwner: "o"}
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("inputs read wrong:\n got %+v\nwant %+v", *c, want)
	}
	c, err = FromInputs(env(map[string]string{"INPUT_MODE": "assemble", "INPUT_AGE-KEY": testKey, "INPUT_OUTPUT-DIR": " out ", "INPUT_S3-BUCKET": "b"}))
	if err != nil || c.OutputDir != "out" || c.Bucket != "" {
		t.Fatalf("assemble: output-dir %q, bucket %q (%v)", c.OutputDir, c.Bucket, err)
	}
}

func TestBoolInputs(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "true": true, " true ": true} {
		c, err := FromInputs(env(map[string]string{"INPUT_MODE": "verify", "INPUT_S3-BUCKET": "b", "INPUT_DEEP-VERIFY": v}))
		if err != nil || c.DeepVerify != want {
			t.Errorf("deep-verify %q: %v, %v; want %v", v, c, err, want)
		}
	}
	for _, v := range []string{"yes", "TRUE", "1"} {
		_, err := FromInputs(env(map[string]string{"INPUT_MODE": "verify", "INPUT_S3-BUCKET": "b", "INPUT_DEEP-VERIFY": v}))
		if err == nil || err.Error() != `deep-verify must be true or false, got "`+v+`"` {
			t.Errorf("deep-verify %q: %v", v, err)
		}
	}
}

// The table says which options are lists, booleans and CLI-only aliases;
// nothing in the code names them.
func TestTableKinds(t *testing.T) {
	var lists, bools, aliases []string
	for _, o := range Options {
		if o.List {
			lists = append(lists, o.Name)
		}
		if o.Bool {
			bools = append(bools, o.Name)
		}
		if o.Alias != "" {
			aliases = append(aliases, o.Name+"="+o.Alias)
		}
		if o.Secret || o.Name == "mode" || o.Bool {
			if o.Arg != "" {
				t.Errorf("%s has an Arg but takes no CLI value", o.Name)
			}
		} else if o.Arg == "" || strings.ToUpper(o.Arg) != o.Arg {
			t.Errorf("%s: Arg %q, want an upper-case placeholder", o.Name, o.Arg)
		}
	}
	if !eq(lists, "instances", "required-secrets", "exclude-secrets", "repo-seeds-allow-keys") || !eq(bools, "allow-unpinned-first-boot", "strict", "check", "deep-verify", "json") || !eq(aliases, "output-dir=out") {
		t.Fatalf("lists %v, bools %v, aliases %v", lists, bools, aliases)
	}
}
