// Package config holds the one table of options shared by the GitHub Action
// inputs (action.yml, INPUT_* variables), the CLI flags and --help, and
// fills a command's own option struct from either: each command binds the
// table's rows to the fields of the packages that act on them (Bindings),
// and ParseArgs or ParseInputs sets those fields, checking each value once.
// It reads the environment only through the getenv function it is given,
// and the file system only for --age-key-file (see ReadKeyFile).
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"
	"github.com/spf13/pflag"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// The commands. Publish, Verify, Assemble and Plan are also the Action's
// modes; Install, Demo and Version are CLI only.
const (
	Publish  = "publish"
	Verify   = "verify"
	Assemble = "assemble"
	// Plan reads the instances file only (no key, no bucket, no secrets
	// dir) and lists the instances a run would process, for a workflow to
	// fan out over.
	Plan    = "plan"
	Install = "install"
	Demo    = "demo"
	Version = "version"
)

// ActionModes are the values of the Action's mode input.
var ActionModes = []string{Publish, Verify, Assemble, Plan}

// bundleModes are the modes that read or build bundles: every mode but
// plan.
var bundleModes = []string{Publish, Verify, Assemble}

// Option is one row of the table: an action input and, unless Secret or
// ActionOnly, the CLI flag of the same name (--name, GNU style).
type Option struct {
	Name        string
	Default     string
	Description string
	// Modes lists the commands the option applies to (empty: every
	// command of ActionModes).
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
	// ActionOnly options are inputs with no flag (mode: the CLI's command
	// is its mode); CLIOnly options are flags with no input.
	ActionOnly, CLIOnly bool
	// Verbatim values are paths, kept as given; others are trimmed.
	Verbatim bool
	// Required lists the commands that need a value, unless the option
	// named Unless has one (verify --dir in place of a bucket); Hint
	// follows the "is required" error.
	Required []string
	Unless   string
	Hint     string
	// Check refuses a bad value, once, when the option is read. The error
	// is a *problem.UsageError.
	Check func(v string) error
	// None lists the commands where the exact value "none" says, on
	// purpose, that the option is not used (verify without a pin): an
	// empty value there is refused, since a workflow variable that is
	// unset gives one.
	None []string
}

// checkLockTimeout accepts whole seconds from 1 to 280 (the fleet's
// user-data waits 300 s for the bootstrap unit).
func checkLockTimeout(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 280 {
		return problem.Usagef("--lock-timeout %q: want whole seconds from 1 to 280", v)
	}
	return nil
}

// checkSequence accepts a statement sequence: a non-negative integer.
func checkSequence(v string) error {
	if _, err := strconv.ParseUint(v, 10, 64); err != nil {
		return problem.Usagef("--sequence-floor %q: want a non-negative integer", v)
	}
	return nil
}

// None is the value that turns an option off on purpose (Option.None).
const None = "none"

// Options is the table. action.yml is generated from it (see ActionYAML),
// and so is every command's --help; a test holds action.yml equal.
var Options = []Option{
	{Name: "mode", Default: Publish, ActionOnly: true, Description: "What to do: `publish` (gate, upload, pull back and verify), `verify` (prove what S3 holds now), `assemble` (build the bundles locally, no network) or `plan` (list the selected instances from the instances file only, for a matrix)."},
	{Name: "age-key", Secret: true, Modes: []string{Publish, Assemble}, Required: []string{Publish, Assemble}, Hint: " (CLI: --age-key-file or CLAWDINATOR_AGE_KEY)", Description: "The age identity (`AGE-SECRET-KEY-1...`) every host secret is encrypted to; `#` comment lines and CRLF are tolerated. Required for publish and assemble. Pass it from a secret."},
	{Name: "age-key-file", CLIOnly: true, Arg: "FILE", Modes: []string{Publish, Assemble}, Verbatim: true, Description: "File holding the age identity (default: $CLAWDINATOR_AGE_KEY)."},
	{Name: "secrets-dir", Default: "nix/age-secrets", Arg: "DIR", Modes: bundleModes, Verbatim: true, Description: "Directory of `*.age` files. In verify mode, the drift reference: bundled secrets that differ from these files are reported as drift; when the default directory is absent, the drift check does not run and the run says so. A directory given that does not exist is exit status 2. Exclusive with `secrets-s3-prefix`."},
	{Name: "secrets-s3-prefix", Arg: "PREFIX", Modes: []string{Publish, Verify}, Check: checkPrefix, Description: "Key prefix in `s3-bucket` whose `*.age` objects are the secrets (e.g. `age-secrets/`, where the fleet syncs them), in place of `secrets-dir`: downloaded with their store checksums into a private temporary directory, checked against `secrets-lock`, removed after the run. In verify mode, the drift reference."},
	{Name: "secrets-lock", Default: "nix/age-secrets.sha256", Arg: "FILE", Modes: []string{Publish, Verify}, Verbatim: true, None: []string{Publish, Verify}, Description: "With `secrets-s3-prefix`: the digest lock in the repository, lines as `sha256sum` writes them (`(cd nix/age-secrets && sha256sum *.age) > nix/age-secrets.sha256`). An object it does not list, one with another digest, or a listed one that is missing refuses the run. `none` goes without a lock, and says so."},
	{Name: "repo-seeds-dir", Default: "repo-seeds", Arg: "DIR", Modes: []string{Publish, Assemble}, Verbatim: true, Description: "Tree shipped to every host as `repo-seeds.tar.zst` (modes and relative symlinks kept)."},
	{Name: "instances-file", Default: "nix/instances.json", Arg: "FILE", Verbatim: true, Description: "Instance list: a JSON object keyed by instance name with `bootstrapPrefix` and `discordTokenSecret`."},
	{Name: "instances", List: true, Arg: "LIST", Description: "Comma or newline separated instance names to process (default: all)."},
	{Name: "required-secrets", List: true, Arg: "LIST", Default: strings.Join(plan.DefaultRequired, "\n"), Description: "Comma or newline separated secret names every instance must receive."},
	{Name: "exclude-secrets", List: true, Arg: "LIST", Default: strings.Join(plan.DefaultExclude, "\n"), Check: checkGlobs, Description: "Comma or newline separated globs of files never shipped to hosts (warned, not bundled)."},
	{Name: "repo-seeds-allow-keys", List: true, Arg: "LIST", Modes: []string{Publish, Assemble}, Description: "Comma or newline separated paths or globs inside repo-seeds allowed to contain a private key (test fixtures of a cloned project). Any other age identity or PEM private key in repo-seeds stops the run."},
	{Name: "s3-bucket", Arg: "NAME", Modes: []string{Publish, Verify}, Required: []string{Publish, Verify}, Unless: "dir", Check: checkBucket, Description: "Bucket holding `<bootstrapPrefix>/secrets.tar.zst`, `repo-seeds.tar.zst` and `manifest.json`. Required for publish and verify."},
	{Name: "dir", CLIOnly: true, Arg: "DIR", Modes: []string{Verify}, Verbatim: true, Description: "Verify a local directory written by `assemble --out` instead of a bucket."},
	{Name: "aws-region", Arg: "REGION", Modes: []string{Publish, Verify, Install}, Description: "AWS region (default: AWS_REGION / AWS_DEFAULT_REGION from the environment; install on EC2: the instance's, from its metadata)."},
	{Name: "aws-access-key-id", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional access key id; otherwise the AWS default credential chain (environment from aws-actions/configure-aws-credentials, web identity, ...)."},
	{Name: "aws-secret-access-key", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional secret access key, with aws-access-key-id."},
	{Name: "aws-session-token", Secret: true, Modes: []string{Publish, Verify}, Description: "Optional session token, with aws-access-key-id."},
	{Name: "s3-endpoint", Arg: "URL", Modes: []string{Publish, Verify, Install}, Description: "S3-compatible endpoint URL (path-style addressing), e.g. MinIO or versitygw."},
	{Name: "expected-recipient", Arg: "RECIPIENT", Modes: []string{Publish, Verify, Assemble, Install}, Check: checkRecipient, Required: []string{Verify}, None: []string{Verify},
		Hint:        ": the age1... recipient of the fleet key (age-keygen -y), or none to verify without a pin",
		Description: "The `age1...` recipient the bundled key must match; lets verify (a scheduled check, an image gate) and a host pin the key without holding it. Required for verify: `none` verifies without a pin, and says so."},
	{Name: "expected-recipient-file", CLIOnly: true, Arg: "FILE", Modes: []string{Install}, Verbatim: true, Description: "A file holding that recipient (one age1... line; # comments allowed), such as one an image bakes in."},
	{Name: "allow-unpinned-first-boot", CLIOnly: true, Bool: true, Default: "false", Modes: []string{Install}, Description: "With no pin and no installed key, install whatever key the bundle holds (discouraged: pin the key instead)."},
	{Name: "strict", CLIOnly: true, Bool: true, Default: "false", Modes: []string{Install}, Description: "For runs that are not at boot (a refresh timer): a refusal or an unreachable bucket exits non-zero even when an installation is in place. Without it (at boot) install fails static: it keeps that installation, says why, and exits 0."},
	{Name: "check", CLIOnly: true, Bool: true, Default: "false", Modes: []string{Install}, Description: "Prove what the bucket holds against what is installed and write nothing: exit 0 up to date or a change pending (said in a line, and `pending` in --json), 1 on a problem. Repo-seeds is asked about (HEAD), not downloaded."},
	{Name: "state-dir", CLIOnly: true, Arg: "DIR", Default: "/var/lib/clawdinator-bundle", Modes: []string{Install}, Verbatim: true, Description: "Where install keeps its lock file and, per prefix, the highest sequence installed: root-owned, not writable by others, outside SECRETS_DIR (made 0700 when missing)."},
	{Name: "lock-timeout", CLIOnly: true, Arg: "SECONDS", Default: "60", Modes: []string{Install}, Check: checkLockTimeout, Description: "How long to wait for another install's lock before giving up (exit 3)."},
	{Name: "sequence-floor", CLIOnly: true, Arg: "N", Default: "0", Modes: []string{Install}, Check: checkSequence, Description: "The lowest statement sequence this host installs, for a host with no record yet (an image bakes it in)."},
	{Name: "sse", Default: "AES256", Arg: "TYPE", Modes: []string{Publish}, Description: "Server-side encryption for uploads: `AES256`, `aws:kms` or `none`."},
	{Name: "sse-kms-key-id", Arg: "KEY", Modes: []string{Publish}, Description: "KMS key id or ARN, with `sse: aws:kms`."},
	{Name: "expected-bucket-owner", Arg: "ACCOUNT", Modes: []string{Publish, Verify}, Description: "Account id the bucket must belong to (sent as ExpectedBucketOwner)."},
	{Name: "deep-verify", Default: "false", Bool: true, Modes: bundleModes, Description: "Also download and fully unpack every repo-seeds archive (default: verify it by SHA-256 checksum)."},
	{Name: "output-dir", Arg: "DIR", Alias: "out", Modes: []string{Assemble}, Description: "Assemble only: where to write the bundles, laid out as the bucket. Empty: check and build in memory, write nothing (a pull-request gate)."},
	{Name: "json", CLIOnly: true, Bool: true, Default: "false", Modes: append(slices.Clone(ActionModes), Install), Description: "Print the result as JSON on stdout."},
}

// Output is one of the action's outputs.
type Output struct {
	Name        string
	Description string
	// Proven says whether, and in which modes, the value is one the run
	// proved rather than one it read (docs/action.md prints it).
	Proven string
}

// Outputs are the action's outputs.
var Outputs = []Output{
	{Name: "manifest", Description: "JSON array of every instance's manifest: instance, object keys, sizes, SHA-256 digests, version ids and secrets.",
		Proven: "yes. publish, assemble: the manifests this run wrote from what it proved (publish, for an unchanged instance whose manifest already names its versions: that manifest as proven, without tool and source). verify: what it proved of each instance that verified, as a manifest (instance, prefix, objects, secrets, recipient when pinned); the fields of the bucket's manifest.json nothing checks (tool, source) are left out"},
	{Name: "recipient", Description: "The `age1...` recipient of the bundled key; empty when verify ran with `expected-recipient: none`.",
		Proven: "yes. publish, assemble: the age-key input's. verify: the pinned key's, which every bundle proved to hold; empty when verify ran unpinned"},
	{Name: "uploaded", Description: "`true` when this run uploaded a bundle object (`secrets.tar.zst` or `repo-seeds.tar.zst`) that is still in place: what hosts download changed. `false` when everything was unchanged, and always in verify, assemble and plan.",
		Proven: "yes: what this run did"},
	{Name: "instances-proven", Description: "How many instances this run proved (publish: pulled back, verified, manifest written; verify: verified as they are now; assemble: built and checked). `0` in plan.",
		Proven: "yes: what this run proved"},
	{Name: "instances", Description: "JSON array of the names of the instances the run processed, on one line; in plan, the selected instances, for a `strategy.matrix` through `fromJSON`.",
		Proven: "names from the instances file (the repository), not from the bucket"},
	{Name: "matrix", Description: "The same names as `{\"instance\": [...]}`, a whole `strategy.matrix` through `fromJSON`.",
		Proven: "as instances"},
}

// Lookup returns the table's row for name.
func Lookup(name string) (Option, bool) {
	for _, o := range Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

// AppliesTo reports whether o is an option of command cmd.
func (o Option) AppliesTo(cmd string) bool {
	modes := o.Modes
	if len(modes) == 0 {
		modes = ActionModes
	}
	for _, m := range modes {
		if m == cmd {
			return true
		}
	}
	return false
}

// Bindings ties the table's options to the fields a command reads them
// into: a *string, a *[]string (List), a *bool (Bool) or a *[]byte (the
// age key). Every option of the command must be bound, and nothing else
// (a test holds each command to it).
type Bindings map[string]any

// Set says which options were given: a flag on the command line, an input
// other than its default.
type Set map[string]bool

// ErrHelp is returned when --help or -h was asked for; the help was written
// to the help writer. It is not a failure: exit status 0.
var ErrHelp = pflag.ErrHelp

// ReadInputs fills b from the Action's inputs (INPUT_AGE-KEY and so on,
// dashes kept) read through getenv, for mode.
//
// List inputs split on commas as well as newlines, as on the CLI: one
// syntax for the one table, and `required-secrets: a.age, b.age` means two
// secrets wherever it is written. No item the lists hold (instance names,
// .age file names, globs and paths of key fixtures) is expected to contain a
// comma; a glob that must match one can use `?`.
func ReadInputs(mode string, getenv func(string) string, b Bindings) (Set, error) {
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(io.Discard))
	set := Set{}
	// Every value is read before the first error is returned, so that a
	// presenter bound to one (--json) knows it.
	var first error
	for _, o := range Options {
		if o.CLIOnly || !o.AppliesTo(mode) {
			continue
		}
		v := a.GetInput(o.Name)
		// The runner passes every input, defaults included: only a value
		// other than the default counts as set (secrets-dir in verify).
		if v != "" && v != o.Default {
			set[o.Name] = true
		} else if v == "" {
			v = o.Default
		}
		if err := assign(o, mode, b, v); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return set, finish(mode, b)
}

// Mode reads the Action's mode input.
func Mode(getenv func(string) string) (string, error) {
	a := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(io.Discard))
	m := strings.TrimSpace(a.GetInput("mode"))
	if m == "" {
		m = Publish
	}
	for _, am := range ActionModes {
		if m == am {
			return m, nil
		}
	}
	return "", problem.Usagef("mode must be publish, verify, assemble or plan, got %q", m)
}

// ParseArgs fills b from command cmd's command line, GNU style (--name
// VALUE or --name=VALUE, flags and arguments in any order), and returns the
// positional arguments (only install takes any). The age key comes from
// --age-key-file or CLAWDINATOR_AGE_KEY, read under ctx (see ReadKeyFile);
// AWS secrets only from the AWS environment (the default credential
// chain). --help and -h write Help(cmd) to help and return ErrHelp.
func ParseArgs(ctx context.Context, cmd string, args []string, getenv func(string) string, b Bindings, help io.Writer) ([]string, Set, error) {
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	aliases := map[string]string{}
	strs := map[string]*string{}
	lists := map[string]*[]string{}
	bools := map[string]*bool{}
	for _, o := range Options {
		if o.Secret || o.ActionOnly || !o.AppliesTo(cmd) {
			continue
		}
		switch {
		case o.Bool:
			bools[o.Name] = fs.Bool(o.Name, o.Default == "true", o.Description)
		case o.List:
			lists[o.Name] = fs.StringArray(o.Name, splitList(o.Default), o.Description)
		default:
			strs[o.Name] = fs.String(o.Name, o.Default, o.Description)
		}
		if o.Alias != "" {
			aliases[o.Alias] = o.Name
		}
	}
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if n, ok := aliases[name]; ok {
			name = n
		}
		return pflag.NormalizedName(name)
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			io.WriteString(help, Help(cmd))
			return nil, nil, ErrHelp
		}
		return nil, nil, flagError(err, fs, cmd)
	}
	if !fs.HasFlags() && fs.NArg() > 0 {
		return nil, nil, problem.Usagef("%s takes no arguments", cmd)
	}
	if _, positional := Positional[cmd]; !positional && fs.NArg() > 0 {
		return nil, nil, problem.Usagef("unexpected argument %q (options are flags, see --help)", fs.Arg(0))
	}
	set := Set{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	vals := map[string]string{}
	for n, p := range strs {
		vals[n] = *p
	}
	for n, p := range lists {
		vals[n] = strings.Join(*p, "\n")
	}
	for n, p := range bools {
		vals[n] = strconv.FormatBool(*p)
	}
	// Every value is read before the first error is returned, so that a
	// presenter bound to one (--json) knows it.
	var first error
	for _, o := range Options {
		if v, ok := vals[o.Name]; ok && o.Name != "age-key-file" {
			if err := assign(o, cmd, b, v); err != nil && first == nil {
				first = err
			}
		}
	}
	if dst, ok := b["age-key"]; ok && first == nil {
		key, err := cliKey(ctx, vals["age-key-file"], getenv)
		if err != nil {
			return nil, nil, err
		}
		*dst.(*[]byte) = []byte(key)
	}
	if first != nil {
		return nil, nil, first
	}
	return fs.Args(), set, finish(cmd, b)
}

// Positional holds the positional arguments of the commands that take
// some, as --help shows them.
var Positional = map[string]string{
	Install: "BUCKET PREFIX SECRETS_DIR REPO_SEEDS_DIR AGE_KEY_PATH [SECRETS_ARCHIVE SEEDS_ARCHIVE]",
}

// cliKey reads the age key of the CLI: --age-key-file, else
// CLAWDINATOR_AGE_KEY.
func cliKey(ctx context.Context, keyFile string, getenv func(string) string) (string, error) {
	if keyFile == "" {
		return getenv("CLAWDINATOR_AGE_KEY"), nil
	}
	data, err := ReadKeyFile(ctx, keyFile)
	if err != nil {
		return "", err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return "", problem.Usagef("--age-key-file %s is empty: expected the age identity from age-keygen", keyFile)
	}
	return string(data), nil
}

// assign sets o's bound field, if any, from v, checking v once (the exact
// value none passes where o.None allows it: the command reads it).
func assign(o Option, cmd string, b Bindings, v string) error {
	dst, ok := b[o.Name]
	if !ok {
		return nil
	}
	if !o.Verbatim && !o.List && !o.Secret {
		v = strings.TrimSpace(v)
	}
	switch p := dst.(type) {
	case *bool:
		switch strings.TrimSpace(v) {
		case "", "false":
			*p = false
		case "true":
			*p = true
		default:
			return problem.Usagef("%s must be true or false, got %q", o.Name, v)
		}
		return nil
	case *[]string:
		*p = splitList(v)
	case *string:
		*p = v
	case *[]byte:
		*p = []byte(v)
	default:
		panic(fmt.Sprintf("config: option %s bound to %T", o.Name, dst))
	}
	if o.Check != nil && v != "" && !(v == None && contains(o.None, cmd)) {
		return o.Check(v)
	}
	return nil
}

// finish refuses a required option left empty.
func finish(cmd string, b Bindings) error {
	for _, o := range Options {
		dst, ok := b[o.Name]
		if !ok || !contains(o.Required, cmd) {
			continue
		}
		if empty(dst) && (o.Unless == "" || b[o.Unless] == nil || empty(b[o.Unless])) {
			return problem.Usagef("%s is required for %s%s", o.Name, cmd, o.Hint)
		}
	}
	return nil
}

// empty reports whether a bound string or key holds nothing.
func empty(dst any) bool {
	switch p := dst.(type) {
	case *string:
		return *p == ""
	case *[]byte:
		return len(strings.TrimSpace(string(*p))) == 0
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// flagError words a parse error as a usage error. An unknown flag keeps the
// wording of Go's flag package, with a hint for a long flag written with one
// dash (-s3-bucket, as the tool took before) and for a secret.
func flagError(err error, fs *pflag.FlagSet, cmd string) error {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) {
		if cmd == Install {
			return problem.Usagef("%v (see clawdinator-bundle install --help)", err)
		}
		return &problem.UsageError{Msg: err.Error()}
	}
	if sh := ne.GetSpecifiedShortnames(); sh != "" {
		msg := "flag provided but not defined: -" + sh
		if fs.Lookup(sh) != nil {
			msg += fmt.Sprintf(" (long flags take two dashes: --%s)", sh)
		}
		return &problem.UsageError{Msg: msg}
	}
	name := ne.GetSpecifiedName()
	msg := "flag provided but not defined: --" + name
	switch o, ok := Lookup(name); {
	case ok && o.Secret && o.AppliesTo(cmd):
		msg += " (secrets are never flags, the process list would show them: see --help for the environment)"
	case cmd == Install:
		msg += " (see clawdinator-bundle install --help)"
	}
	return &problem.UsageError{Msg: msg}
}

// SourceDate parses SOURCE_DATE_EPOCH, the mtime stamped on archive
// entries (the reproducible-builds convention): empty is the Unix epoch.
func SourceDate(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, problem.Usagef("SOURCE_DATE_EPOCH must be a non-negative integer, got %q", v)
	}
	return time.Unix(n, 0).UTC(), nil
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

func checkGlobs(v string) error {
	if err := plan.ValidateGlobs(splitList(v)); err != nil {
		return problem.Usagef("exclude-secrets: %v", err)
	}
	return nil
}

func checkBucket(v string) error { return bucket.CheckName("s3-bucket", v) }

// checkPrefix refuses a secrets-s3-prefix that is a URL or starts at the
// root: it is a key prefix inside s3-bucket.
func checkPrefix(v string) error {
	switch {
	case strings.Contains(v, "://"):
		return problem.Usagef("secrets-s3-prefix is a key prefix inside s3-bucket, not a URL, got %q: pass the part after the bucket name (age-secrets/)", v)
	case strings.HasPrefix(v, "/"):
		return problem.Usagef("secrets-s3-prefix %q starts with /: keys have no leading slash (age-secrets/)", v)
	case strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return problem.Usagef("secrets-s3-prefix %q holds a control character", v)
	}
	return nil
}

func checkRecipient(v string) error { return agekey.CheckRecipient("expected-recipient", v) }
