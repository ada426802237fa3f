// Package config holds the one table of options shared by the GitHub Action
// inputs (action.yml, INPUT_* variables) and the CLI flags, and turns either
// into a validated Config. It reads the environment only through the getenv
// function it is given, and the file system only for --age-key-file (see
// ReadKeyFile) and to see whether the default secrets dir exists
// (CompareSecretsDir).
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/sethvargo/go-githubactions"
	"github.com/spf13/pflag"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

// Modes the tool runs in.
const (
	Publish  = "publish"
	Verify   = "verify"
	Assemble = "assemble"
	// Plan reads the instances file only (no key, no bucket, no secrets
	// dir) and lists the instances a run would process, for a workflow to
	// fan out over.
	Plan = "plan"
)

// bundleModes are the modes that read or build bundles: every mode but
// plan.
var bundleModes = []string{Publish, Verify, Assemble}

// Option is one row of the table: an action input and, unless Secret, the
// CLI flag of the same name (--name, GNU style).
type Option struct {
	Name        string
	Default     string
	Description string
	// Modes lists the modes the option applies to (empty: all).
	Modes []string
	// Secret options are masked and never taken from the command line, where
	// other users could read them in the process list.
	Secret bool
	// Bool options are "true" or "false"; on the CLI a flag without a value
	// (--deep-verify, or --deep-verify=false).
	Bool bool
	// List options hold several items separated by commas or newlines; on
	// the CLI the flag may also be repeated, each occurrence adding items.
	List bool
	// Arg names the flag's value in --help (DIR, FILE, LIST...). Empty for
	// Bool options.
	Arg string
	// Alias is a second CLI flag name for the option (--out for
	// --output-dir).
	Alias string
}

// Options is the table. action.yml is generated from it (see ActionYAML)
// and a test holds the two equal.
var Options = []Option{
	{Name: "mode", Default: Publish, Description: "What to do: `publish` (gate, upload, pull back and verify), `verify` (prove what S3 holds now), `assemble` (build the bundles locally, no network) or `plan` (list the selected instances from the instances file only, for a matrix)."},
	{Name: "age-key", Secret: true, Modes: []string{Publish, Assemble}, Description: "The age identity (`AGE-SECRET-KEY-1...`) every host secret is encrypted to; `#` comment lines and CRLF are tolerated. Required for publish and assemble. Pass it from a secret."},
	{Name: "secrets-dir", Default: "nix/age-secrets", Arg: "DIR", Modes: bundleModes, Description: "Directory of `*.age` files. In verify mode, optional: when set, bundled secrets that differ from these files are reported as drift."},
	{Name: "repo-seeds-dir", Default: "repo-seeds", Arg: "DIR", Modes: []string{Publish, Assemble}, Description: "Tree shipped to every host as `repo-seeds.tar.zst` (modes and relative symlinks kept)."},
	{Name: "instances-file", Default: "nix/instances.json", Arg: "FILE", Description: "Instance list: a JSON object keyed by instance name with `bootstrapPrefix` and `discordTokenSecret`."},
	{Name: "instances", List: true, Arg: "LIST", Description: "Comma or newline separated instance names to process (default: all)."},
	{Name: "required-secrets", List: true, Arg: "LIST", Default: strings.Join(plan.DefaultRequired, "\n"), Description: "Comma or newline separated secret names every instance must receive."},
	{Name: "exclude-secrets", List: true, Arg: "LIST", Default: strings.Join(plan.DefaultExclude, "\n"), Description: "Comma or newline separated globs of files never shipped to hosts (warned, not bundled)."},
	{Name: "repo-seeds-allow-keys", List: true, Arg: "LIST", Modes: []string{Publish, Assemble}, Description: "Comma or newline separated paths or globs inside repo-seeds allowed to contain a private key (test fixtures of a cloned project). Any other age identity or PEM private key in repo-seeds stops the run."},
	{Name: "s3-bucket", Arg: "NAME", Modes: []string{Publish, Verify}, Description: "Bucket holding `<bootstrapPrefix>/secrets.tar.zst`, `repo-seeds.tar.zst` and `manifest.json`. Required for publish and verify."},
	{Name: "aws-region", Arg: "REGION", Modes: []string{Publish, Verify}, Description: "AWS region (default: AWS_REGION / AWS_DEFAULT_REGION from the environment)."},
	{Name: "aws-access-key-id", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional access key id; otherwise the AWS default credential chain (environment from aws-actions/configure-aws-credentials, web identity, ...)."},
	{Name: "aws-secret-access-key", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional secret access key, with aws-access-key-id."},
	{Name: "aws-session-token", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional session token, with aws-access-key-id."},
	{Name: "s3-endpoint", Arg: "URL", Modes: []string{Publish, Verify}, Description: "S3-compatible endpoint URL (path-style addressing), e.g. MinIO or versitygw."},
	{Name: "expected-recipient", Arg: "RECIPIENT", Modes: bundleModes, Description: "The `age1...` recipient the bundled key must match; lets a scheduled check pin the key without holding it."},
	{Name: "sse", Default: "AES256", Arg: "TYPE", Modes: []string{Publish}, Description: "Server-side encryption for uploads: `AES256`, `aws:kms` or `none`."},
	{Name: "sse-kms-key-id", Arg: "KEY", Modes: []string{Publish}, Description: "KMS key id or ARN, with `sse: aws:kms`."},
	{Name: "expected-bucket-owner", Arg: "ACCOUNT", Modes: []string{Publish, Verify}, Description: "Account id the bucket must belong to (sent as ExpectedBucketOwner)."},
	{Name: "deep-verify", Default: "false", Bool: true, Modes: bundleModes, Description: "Also download and fully unpack every repo-seeds archive (default: verify it by SHA-256 checksum)."},
	{Name: "output-dir", Arg: "DIR", Alias: "out", Modes: []string{Assemble}, Description: "Assemble only: where to write the bundles, laid out as the bucket. Empty: check and build in memory, write nothing (a pull-request gate)."},
}

// Outputs are the action's outputs.
var Outputs = []Option{
	{Name: "manifest", Description: "JSON array of every instance's manifest: instance, object keys, sizes, SHA-256 digests, version ids and secrets."},
	{Name: "recipient", Description: "The `age1...` recipient of the bundled key."},
	{Name: "uploaded", Description: "`true` when this run uploaded a bundle object (`secrets.tar.zst` or `repo-seeds.tar.zst`) that is still in place: what hosts download changed. `false` when everything was unchanged, and always in verify, assemble and plan."},
	{Name: "instances-proven", Description: "How many instances this run proved (publish: pulled back, verified, manifest written; verify: verified as they are now; assemble: built and checked). `0` in plan."},
	{Name: "instances", Description: "JSON array of the names of the instances the run processed, on one line; in plan, the selected instances, for a `strategy.matrix` through `fromJSON`."},
	{Name: "matrix", Description: "The same names as `{\"instance\": [...]}`, a whole `strategy.matrix` through `fromJSON`."},
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

	// CompareSecretsDir (verify only) says whether bundled secrets are
	// compared with SecretsDir: when secrets-dir was set (a CLI flag given,
	// an Action input other than its default), or, unset, when the default
	// directory exists (a checked-out repository), so that a scheduled check
	// without the repository still runs. Config stats the directory itself,
	// relative to the working directory. Always false in other modes, which
	// read SecretsDir as their source.
	CompareSecretsDir bool
	// Mtime is stamped on archive entries: SOURCE_DATE_EPOCH (seconds, the
	// reproducible-builds convention), else the Unix epoch, in UTC. Read in
	// publish and assemble only; zero in verify and plan.
	Mtime time.Time
	// SourceRepository, SourceSHA and SourceRunID come from
	// GITHUB_REPOSITORY, GITHUB_SHA and GITHUB_RUN_ID and are recorded in
	// each manifest.json.
	SourceRepository string
	SourceSHA        string
	SourceRunID      string
}

// UsageError is a bad option or configuration: exit status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// ErrHelp is returned when --help or -h was asked for; the help was written
// to the usage writer. It is not a failure: exit status 0.
var ErrHelp = pflag.ErrHelp

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
// through getenv, and the environment variables of the mode (see Help).
//
// List inputs split on commas as well as newlines, as on the CLI: one
// syntax for the one table, and `required-secrets: a.age, b.age` means two
// secrets wherever it is written. No item the lists hold (instance names,
// .age file names, globs and paths of key fixtures) is expected to contain a
// comma; a glob that must match one can use `?`.
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
	return finish(c, getenv)
}

// FromArgs parses a CLI subcommand's flags, GNU style (--name VALUE or
// --name=VALUE, flags and arguments in any order). The age key comes from
// --age-key-file or CLAWDINATOR_AGE_KEY; AWS secrets only from the AWS
// environment (the default credential chain). --help and -h write Help(mode)
// to usage and return ErrHelp; usage gets nothing else.
func FromArgs(mode string, args []string, getenv func(string) string, usage io.Writer) (*Config, error) {
	return FromArgsContext(context.Background(), mode, args, getenv, usage)
}

// FromArgsContext is FromArgs reading --age-key-file with ReadKeyFile under
// ctx: a key file that waits (a FIFO without a writer, a terminal) stops
// waiting when ctx is done, with an error that Is ctx.Err(). Pass a context
// canceled by SIGINT and SIGTERM (signal.NotifyContext).
func FromArgsContext(ctx context.Context, mode string, args []string, getenv func(string) string, usage io.Writer) (*Config, error) {
	switch mode {
	case Publish, Verify, Assemble, Plan:
	default:
		return nil, usagef("mode must be publish, verify, assemble or plan, got %q", mode)
	}
	fs := pflag.NewFlagSet(mode, pflag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() { io.WriteString(usage, Help(mode)) }
	aliases := map[string]string{}
	// One variable per flag.
	strs := map[string]*string{}
	lists := map[string]*[]string{}
	bools := map[string]*bool{}
	for _, f := range cliFlags(mode) {
		switch {
		case f.Bool:
			bools[f.Name] = fs.Bool(f.Name, f.Default == "true", f.Description)
		case f.List:
			lists[f.Name] = fs.StringArray(f.Name, splitList(f.Default), f.Description)
		default:
			strs[f.Name] = fs.String(f.Name, f.Default, f.Description)
		}
		if f.Alias != "" {
			aliases[f.Alias] = f.Name
		}
	}
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if n, ok := aliases[name]; ok {
			name = n
		}
		return pflag.NormalizedName(name)
	})
	if err := fs.Parse(args); err != nil {
		return nil, flagError(err, fs)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (options are flags, see --help)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	vals := map[string]string{"mode": mode}
	for n, p := range strs {
		vals[n] = *p
	}
	for n, p := range lists {
		vals[n] = strings.Join(*p, "\n")
	}
	for n, p := range bools {
		vals[n] = strconv.FormatBool(*p)
	}
	c, err := build(vals, set)
	if err != nil {
		return nil, err
	}
	c.Dir, c.JSON = vals["dir"], vals["json"] == "true"
	if keyFile := vals["age-key-file"]; keyFile != "" {
		data, err := ReadKeyFile(ctx, keyFile)
		if err != nil {
			return nil, err
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			return nil, usagef("--age-key-file %s is empty: expected the age identity from age-keygen", keyFile)
		}
		c.AgeKey = data
	} else if v := getenv("CLAWDINATOR_AGE_KEY"); v != "" {
		c.AgeKey = []byte(v)
	}
	return finish(c, getenv)
}

// flagError words a parse error as a UsageError. An unknown flag keeps the
// wording of Go's flag package, with a hint for a long flag written with one
// dash (-s3-bucket, as the tool took before) and for a secret.
func flagError(err error, fs *pflag.FlagSet) error {
	var ne *pflag.NotExistError
	if errors.Is(err, pflag.ErrHelp) {
		return ErrHelp
	}
	if !errors.As(err, &ne) {
		return &UsageError{err.Error()}
	}
	if sh := ne.GetSpecifiedShortnames(); sh != "" {
		msg := "flag provided but not defined: -" + sh
		if fs.Lookup(sh) != nil {
			msg += fmt.Sprintf(" (long flags take two dashes: --%s)", sh)
		}
		return &UsageError{msg}
	}
	name := ne.GetSpecifiedName()
	msg := "flag provided but not defined: --" + name
	for _, o := range Options {
		if o.Secret && o.Name == name {
			msg += " (secrets are never flags, the process list would show them: see --help for the environment)"
		}
	}
	return &UsageError{msg}
}

// finish reads the environment and validates.
func finish(c *Config, getenv func(string) string) (*Config, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	switch c.Mode {
	case Publish, Assemble:
		t, err := sourceDate(getenv("SOURCE_DATE_EPOCH"))
		if err != nil {
			return nil, err
		}
		c.Mtime = t
	case Verify:
		if c.SecretsDirSet {
			c.CompareSecretsDir = true
		} else if st, err := os.Stat(c.SecretsDir); err == nil && st.IsDir() {
			c.CompareSecretsDir = true
		}
	}
	c.SourceRepository, c.SourceSHA, c.SourceRunID = getenv("GITHUB_REPOSITORY"), getenv("GITHUB_SHA"), getenv("GITHUB_RUN_ID")
	return c, nil
}

// sourceDate parses SOURCE_DATE_EPOCH: empty is the Unix epoch.
func sourceDate(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, usagef("SOURCE_DATE_EPOCH must be a non-negative integer, got %q", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

func build(v map[string]string, set map[string]bool) (*Config, error) {
	for _, o := range Options {
		if o.Bool {
			switch strings.TrimSpace(v[o.Name]) {
			case "", "false", "true":
			default:
				return nil, usagef("%s must be true or false, got %q", o.Name, v[o.Name])
			}
		}
	}
	return &Config{
		Mode:              strings.TrimSpace(v["mode"]),
		AgeKey:            []byte(v["age-key"]),
		SecretsDir:        v["secrets-dir"],
		SecretsDirSet:     set["secrets-dir"],
		RepoSeedsDir:      v["repo-seeds-dir"],
		InstancesFile:     v["instances-file"],
		Instances:         splitList(v["instances"]),
		Required:          splitList(v["required-secrets"]),
		Exclude:           splitList(v["exclude-secrets"]),
		SeedsAllowKeys:    splitList(v["repo-seeds-allow-keys"]),
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
		DeepVerify:        strings.TrimSpace(v["deep-verify"]) == "true",
		OutputDir:         strings.TrimSpace(v["output-dir"]),
	}, nil
}

// splitList splits a List option's value on commas and newlines; items are
// trimmed, empty ones dropped.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (c *Config) validate() error {
	switch c.Mode {
	case Publish, Verify, Assemble, Plan:
	default:
		return usagef("mode must be publish, verify, assemble or plan, got %q", c.Mode)
	}
	if (c.Mode == Publish || c.Mode == Assemble) && len(strings.TrimSpace(string(c.AgeKey))) == 0 {
		return usagef("age-key is required for %s (CLI: --age-key-file or CLAWDINATOR_AGE_KEY)", c.Mode)
	}
	if (c.Mode == Publish || c.Mode == Verify) && c.Bucket == "" && c.Dir == "" {
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
		if err := CheckRecipient("expected-recipient", c.ExpectedRecipient); err != nil {
			return err
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

// looksLikeIdentity reports whether s holds an age identity: a native,
// hybrid or plugin secret key, in any case, anywhere in it.
func looksLikeIdentity(s string) bool {
	u := strings.ToUpper(s)
	return strings.Contains(u, "AGE-SECRET-KEY-") || strings.Contains(u, "AGE-PLUGIN-")
}

// CheckRecipient refuses a value of option what that is not an age
// recipient, without echoing it when it holds a private key.
func CheckRecipient(what, r string) error {
	if _, err := age.ParseX25519Recipient(r); err == nil {
		return nil
	}
	if _, err := age.ParseHybridRecipient(r); err == nil {
		return nil
	}
	if looksLikeIdentity(r) {
		// Never echo it: it is a private key, pasted in the wrong place.
		return usagef("%s holds an age identity (a private key), not a recipient: pass its age1... recipient (age-keygen -y), and rotate the key if this ran where others can read the log", what)
	}
	return usagef("%s %q is not an age recipient (age1...)", what, r)
}
