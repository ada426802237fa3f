// Package config holds the one table of options shared by the GitHub Action
// inputs (action.yml, INPUT_* variables) and the CLI flags, and turns either
// into a validated Config. It reads the environment only through the getenv
// function it is given.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/sethvargo/go-githubactions"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

// Modes the tool runs in.
const (
	Publish  = "publish"
	Verify   = "verify"
	Assemble = "assemble"
)

// Option is one row of the table: an action input and, unless Secret, the
// CLI flag of the same name.
type Option struct {
	Name        string
	Default     string
	Description string
	// Modes lists the modes the option applies to (empty: all).
	Modes []string
	// Secret options are masked and never taken from the command line, where
	// other users could read them in the process list.
	Secret bool
	// Bool options are "true" or "false".
	Bool bool
}

// Options is the table. action.yml is generated from it (see ActionYAML)
// and a test holds the two equal.
var Options = []Option{
	{Name: "mode", Default: Publish, Description: "What to do: `publish` (gate, upload, pull back and verify), `verify` (prove what S3 holds now) or `assemble` (build the bundles locally, no network)."},
	{Name: "age-key", Secret: true, Modes: []string{Publish, Assemble}, Description: "The age identity (`AGE-SECRET-KEY-1...`) every host secret is encrypted to; `#` comment lines and CRLF are tolerated. Required for publish and assemble. Pass it from a secret."},
	{Name: "secrets-dir", Default: "nix/age-secrets", Description: "Directory of `*.age` files. In verify mode, optional: when set, bundled secrets that differ from these files are reported as drift."},
	{Name: "repo-seeds-dir", Default: "repo-seeds", Modes: []string{Publish, Assemble}, Description: "Tree shipped to every host as `repo-seeds.tar.zst` (modes and relative symlinks kept)."},
	{Name: "instances-file", Default: "nix/instances.json", Description: "Instance list: a JSON object keyed by instance name with `bootstrapPrefix` and `discordTokenSecret`."},
	{Name: "instances", Description: "Comma or newline separated instance names to process (default: all)."},
	{Name: "required-secrets", Default: strings.Join(plan.DefaultRequired, "\n"), Description: "Newline separated secret names every instance must receive."},
	{Name: "exclude-secrets", Default: strings.Join(plan.DefaultExclude, "\n"), Description: "Newline separated globs of files never shipped to hosts (warned, not bundled)."},
	{Name: "repo-seeds-allow-keys", Modes: []string{Publish, Assemble}, Description: "Newline separated paths or globs inside repo-seeds allowed to contain a private key (test fixtures of a cloned project). Any other age identity or PEM private key in repo-seeds stops the run."},
	{Name: "s3-bucket", Modes: []string{Publish, Verify}, Description: "Bucket holding `<bootstrapPrefix>/secrets.tar.zst`, `repo-seeds.tar.zst` and `manifest.json`. Required for publish and verify."},
	{Name: "aws-region", Modes: []string{Publish, Verify}, Description: "AWS region (default: AWS_REGION / AWS_DEFAULT_REGION from the environment)."},
	{Name: "aws-access-key-id", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional access key id; otherwise the AWS default credential chain (environment from aws-actions/configure-aws-credentials, web identity, ...)."},
	{Name: "aws-secret-access-key", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional secret access key, with aws-access-key-id."},
	{Name: "aws-session-token", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional session token, with aws-access-key-id."},
	{Name: "s3-endpoint", Modes: []string{Publish, Verify}, Description: "S3-compatible endpoint URL (path-style addressing), e.g. MinIO or versitygw."},
	{Name: "expected-recipient", Description: "The `age1...` recipient the bundled key must match; lets a scheduled check pin the key without holding it."},
	{Name: "sse", Default: "AES256", Modes: []string{Publish}, Description: "Server-side encryption for uploads: `AES256`, `aws:kms` or `none`."},
	{Name: "sse-kms-key-id", Modes: []string{Publish}, Description: "KMS key id or ARN, with `sse: aws:kms`."},
	{Name: "expected-bucket-owner", Modes: []string{Publish, Verify}, Description: "Account id the bucket must belong to (sent as ExpectedBucketOwner)."},
	{Name: "deep-verify", Default: "false", Bool: true, Description: "Also download and fully unpack every repo-seeds archive (default: verify it by SHA-256 checksum)."},
	{Name: "output-dir", Modes: []string{Assemble}, Description: "Assemble only: where to write the bundles, laid out as the bucket. Empty: check and build in memory, write nothing (a pull-request gate)."},
}

// Outputs are the action's outputs.
var Outputs = []Option{
	{Name: "manifest", Description: "JSON array of every instance's manifest: instance, object keys, sizes, SHA-256 digests, version ids and secrets."},
	{Name: "recipient", Description: "The `age1...` recipient of the bundled key."},
}

// Config is a validated set of options.
type Config struct {
	Mode              string
	AgeKey            []byte
	SecretsDir        string
	SecretsDirSet     bool
	RepoSeedsDir      string
	InstancesFile     string
	Instances         []string
	Required          []string
	Exclude           []string
	SeedsAllowKeys    []string
	Bucket            string
	Region            string
	AccessKeyID       string
	SecretAccessKey   string
	SessionToken      string
	Endpoint          string
	ExpectedRecipient string
	SSE               string
	SSEKMSKeyID       string
	ExpectedOwner     string
	DeepVerify        bool
	OutputDir         string
	// Dir is verify's local directory (CLI --dir) instead of a bucket.
	Dir string
	// JSON asks the CLI for a JSON result on stdout.
	JSON bool
	// Mtime stamps every archive entry (SOURCE_DATE_EPOCH).
	Mtime time.Time
	// SourceRepository, SourceSHA and SourceRunID are recorded in manifests
	// (GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_RUN_ID).
	SourceRepository, SourceSHA, SourceRunID string
}

// UsageError is a bad option or configuration: exit status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// ErrHelp is returned when --help was asked for; usage was written.
var ErrHelp = flag.ErrHelp

func option(name string) Option {
	for _, o := range Options {
		if o.Name == name {
			return o
		}
	}
	panic("config: no option " + name)
}

func appliesTo(o Option, mode string) bool {
	if len(o.Modes) == 0 {
		return true
	}
	for _, m := range o.Modes {
		if m == mode {
			return true
		}
	}
	return false
}

// FromInputs reads the action inputs (INPUT_AGE-KEY and so on, dashes kept)
// through getenv.
func FromInputs(getenv func(string) string) (*Config, error) {
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(io.Discard))
	vals := map[string]string{}
	set := map[string]bool{}
	for _, o := range Options {
		v := a.GetInput(o.Name)
		// The runner passes every input, defaults included: only a value
		// other than the default counts as set (secrets-dir in verify).
		if v != "" && v != o.Default {
			set[o.Name] = true
		} else if v == "" {
			v = o.Default
		}
		vals[o.Name] = v
	}
	c, err := build(vals, set)
	if err != nil {
		return nil, err
	}
	if err := c.readEnv(getenv); err != nil {
		return nil, err
	}
	return c, c.validate(set)
}

// FromArgs parses a CLI subcommand's flags. The age key comes from
// --age-key-file or CLAWDINATOR_AGE_KEY; AWS secrets only from the AWS
// environment (the default credential chain).
func FromArgs(mode string, args []string, getenv func(string) string, usage io.Writer) (*Config, error) {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	fs.SetOutput(usage)
	vals := map[string]*string{}
	var deep bool
	for _, o := range Options {
		if o.Secret || o.Name == "mode" || !appliesTo(o, mode) {
			continue
		}
		if o.Bool {
			fs.BoolVar(&deep, o.Name, o.Default == "true", flagUsage(o.Description))
			continue
		}
		vals[o.Name] = fs.String(o.Name, o.Default, flagUsage(o.Description))
	}
	keyFile := ""
	if appliesTo(option("age-key"), mode) {
		fs.StringVar(&keyFile, "age-key-file", "", "File holding the age identity (default: $CLAWDINATOR_AGE_KEY).")
	}
	var dir string
	if mode == Verify {
		fs.StringVar(&dir, "dir", "", "Verify a local directory written by `assemble --out` instead of a bucket.")
	}
	if mode == Assemble {
		fs.StringVar(vals["output-dir"], "out", "", "Same as --output-dir.")
	}
	jsonOut := fs.Bool("json", false, "Print the result as JSON on stdout.")
	fs.Usage = func() {
		fmt.Fprintf(usage, "usage: clawdinator-bundle %s [flags]\n\nflags:\n", mode)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, &UsageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (options are flags, see --help)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["out"] {
		set["output-dir"] = true
	}
	strs := map[string]string{"mode": mode, "deep-verify": strconv.FormatBool(deep)}
	for n, p := range vals {
		strs[n] = *p
	}
	c, err := build(strs, set)
	if err != nil {
		return nil, err
	}
	c.Dir, c.JSON = dir, *jsonOut
	if err := c.readEnv(getenv); err != nil {
		return nil, err
	}
	if keyFile != "" {
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, usagef("--age-key-file: %v", err)
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			return nil, usagef("--age-key-file %s is empty: expected the age identity from age-keygen", keyFile)
		}
		c.AgeKey = data
	} else if v := getenv("CLAWDINATOR_AGE_KEY"); v != "" {
		c.AgeKey = []byte(v)
	}
	return c, c.validate(set)
}

func build(v map[string]string, set map[string]bool) (*Config, error) {
	c := &Config{
		Mode:              strings.TrimSpace(v["mode"]),
		AgeKey:            []byte(v["age-key"]),
		SecretsDir:        v["secrets-dir"],
		SecretsDirSet:     set["secrets-dir"],
		RepoSeedsDir:      v["repo-seeds-dir"],
		InstancesFile:     v["instances-file"],
		Instances:         list(v["instances"], true),
		Required:          list(v["required-secrets"], false),
		Exclude:           list(v["exclude-secrets"], false),
		SeedsAllowKeys:    list(v["repo-seeds-allow-keys"], false),
		Bucket:            strings.TrimSpace(v["s3-bucket"]),
		Region:            strings.TrimSpace(v["aws-region"]),
		AccessKeyID:       strings.TrimSpace(v["aws-access-key-id"]),
		SecretAccessKey:   strings.TrimSpace(v["aws-secret-access-key"]),
		SessionToken:      strings.TrimSpace(v["aws-session-token"]),
		Endpoint:          strings.TrimSpace(v["s3-endpoint"]),
		ExpectedRecipient: strings.TrimSpace(v["expected-recipient"]),
		SSE:               strings.TrimSpace(v["sse"]),
		SSEKMSKeyID:       strings.TrimSpace(v["sse-kms-key-id"]),
		ExpectedOwner:     strings.TrimSpace(v["expected-bucket-owner"]),
		OutputDir:         strings.TrimSpace(v["output-dir"]),
	}
	switch strings.TrimSpace(v["deep-verify"]) {
	case "", "false":
	case "true":
		c.DeepVerify = true
	default:
		return nil, usagef("deep-verify must be true or false, got %q", v["deep-verify"])
	}
	return c, nil
}

// list splits a newline (and, when commas, comma) separated value.
func list(s string, commas bool) []string {
	if commas {
		s = strings.ReplaceAll(s, ",", "\n")
	}
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

func (c *Config) validate(set map[string]bool) error {
	switch c.Mode {
	case Publish, Verify, Assemble:
	default:
		return usagef("mode must be publish, verify or assemble, got %q", c.Mode)
	}
	if c.Mode != Verify && len(strings.TrimSpace(string(c.AgeKey))) == 0 {
		return usagef("age-key is required for %s (CLI: --age-key-file or CLAWDINATOR_AGE_KEY)", c.Mode)
	}
	if c.Mode != Assemble && c.Bucket == "" && c.Dir == "" {
		return usagef("s3-bucket is required for %s", c.Mode)
	}
	switch c.SSE {
	case "AES256", "none", "":
		if c.SSEKMSKeyID != "" {
			return usagef("sse-kms-key-id needs sse: aws:kms")
		}
	case "aws:kms":
	default:
		if c.Mode != Publish {
			break
		}
		return usagef("sse must be AES256, aws:kms or none, got %q", c.SSE)
	}
	if c.ExpectedRecipient != "" {
		if _, err := age.ParseX25519Recipient(c.ExpectedRecipient); err != nil {
			if _, err2 := age.ParseHybridRecipient(c.ExpectedRecipient); err2 != nil {
				return usagef("expected-recipient %q is not an age recipient (age1...)", c.ExpectedRecipient)
			}
		}
	}
	if (c.SecretAccessKey != "") != (c.AccessKeyID != "") {
		return usagef("aws-access-key-id and aws-secret-access-key go together")
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		return usagef("s3-endpoint must be an http:// or https:// URL, got %q", c.Endpoint)
	}
	if err := plan.ValidateGlobs(c.Exclude); err != nil {
		return usagef("exclude-secrets: %v", err)
	}
	return nil
}

// Secrets returns the values that must be masked before anything is printed.
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range []string{c.SecretAccessKey, c.SessionToken} {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(c.AgeKey), "\r", ""), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// flagUsage adapts an input's Markdown description for --help: the flag
// package would take a `quoted` word for the argument's name.
func flagUsage(desc string) string { return strings.ReplaceAll(desc, "`", "'") }

// readEnv reads SOURCE_DATE_EPOCH, the reproducible-builds convention for
// the mtime stamped on archive entries, and the commit and run a manifest
// records.
func (c *Config) readEnv(getenv func(string) string) error {
	c.SourceRepository, c.SourceSHA, c.SourceRunID = getenv("GITHUB_REPOSITORY"), getenv("GITHUB_SHA"), getenv("GITHUB_RUN_ID")
	c.Mtime = time.Unix(0, 0).UTC()
	v := getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return usagef("SOURCE_DATE_EPOCH must be a non-negative integer, got %q", v)
	}
	c.Mtime = time.Unix(n, 0).UTC()
	return nil
}
