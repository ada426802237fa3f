package config

import (
	"fmt"
	"strings"
)

// summaries says in one sentence what each subcommand does.
var summaries = map[string]string{
	Publish:  "Gate, upload, pull back and verify every instance's bundle in S3.",
	Verify:   "Prove what S3 (or a directory written by 'assemble --out') holds now.",
	Assemble: "Build the bundles on local disk (--out DIR), no network; without --out, check and build in memory and write nothing.",
	Plan:     "Read the instances file only (no key, no bucket, no secrets dir) and list the instances a run with the same --instances would process: their names on stdout, one a line, or the whole plan with --json. A workflow fans publish or verify out over them with a matrix.",
	Demo:     "Run publish and verify end to end on generated data, in-process: a throwaway key, sample secrets and an S3-compatible server on 127.0.0.1, then tamper with one object and show verify catching it. No network, no credentials. Takes no flags.",
	Install: "Install a host's bundle, the boot script's drop-in (same arguments, in the same order): fetch s3://BUCKET/PREFIX/SECRETS_ARCHIVE (default secrets.tar.zst), prove it against the pinned key, fetch the repo-seeds object its statement names (SEEDS_ARCHIVE, default repo-seeds.tar.zst), and swap the key, the .age files and the seeds tree into place only when everything checked. A failure leaves the previous installation as it was. " +
		"The pin: --expected-recipient or --expected-recipient-file; without one, the key already installed at AGE_KEY_PATH; with neither, install refuses unless --allow-unpinned-first-boot is given. Flags go before or after the arguments. " +
		"At boot (without --strict) install fails static: when a refusal or an unreachable bucket meets an installation of this prefix already in place, it keeps it, says why in one clawdinator-bootstrap: line and exits 0, so the units that require the bootstrap still run.",
	Version: "Print the version.",
}

// DefaultPrefixFile is where a host's image may put a bootstrap prefix that
// replaces the PREFIX argument, as the boot script reads it.
const DefaultPrefixFile = "/etc/clawdinator/bootstrap-prefix"

// EnvVar is an environment variable a subcommand reads.
type EnvVar struct {
	Name        string
	Description string
	// Modes lists the subcommands that read it (empty: all, demo included).
	Modes []string
}

// Environment lists the variables the subcommands read; Help prints them.
var Environment = []EnvVar{
	{Name: "CLAWDINATOR_AGE_KEY", Modes: []string{Publish, Assemble}, Description: "The age identity, when --age-key-file is not given."},
	{Name: "AWS_REGION", Modes: []string{Publish, Verify}, Description: "Region, when --aws-region is not given (AWS_DEFAULT_REGION too)."},
	{Name: "AWS_ACCESS_KEY_ID", Modes: []string{Publish, Verify}, Description: "Credentials, read by the AWS default chain (with web identity, profile and instance role)."},
	{Name: "AWS_SECRET_ACCESS_KEY", Modes: []string{Publish, Verify}, Description: "With AWS_ACCESS_KEY_ID."},
	{Name: "AWS_SESSION_TOKEN", Modes: []string{Publish, Verify}, Description: "With AWS_ACCESS_KEY_ID, for temporary credentials."},
	{Name: "AWS_PROFILE", Modes: []string{Publish, Verify}, Description: "Profile of the shared AWS config and credentials files."},
	{Name: "SOURCE_DATE_EPOCH", Modes: []string{Publish, Assemble}, Description: "Mtime stamped on archive entries (repo-seeds files and symlinks take theirs from their content), in seconds since 1970 (default 0); assemble also writes it as the statements' sequence."},
	{Name: "GITHUB_REPOSITORY", Modes: []string{Publish, Assemble}, Description: "Recorded in each manifest.json as source.repository."},
	{Name: "GITHUB_SHA", Modes: []string{Publish, Assemble}, Description: "Recorded in each manifest.json as source.sha."},
	{Name: "GITHUB_RUN_ID", Modes: []string{Publish, Assemble}, Description: "Recorded in each manifest.json as source.runId."},
	{Name: "CLAWDINATOR_PROGRESS", Modes: []string{Publish, Verify, Assemble, Demo}, Description: "0 disables the progress lines."},
	{Name: "BOOTSTRAP_PREFIX_FILE", Modes: []string{Install}, Description: "A non-empty file whose content replaces PREFIX (default " + DefaultPrefixFile + ")."},
	{Name: "AWS_REGION, AWS_*", Modes: []string{Install}, Description: "Region and credentials: the AWS default chain (on EC2, the instance role; the region from instance metadata when neither --aws-region nor AWS_REGION is set)."},
}

// ExitStatus is one exit status and what it means for each command.
type ExitStatus struct {
	Code    int
	Meaning string
	// For holds what the status means for a command whose meaning differs;
	// "" there: the command never exits with it.
	For map[string]string
}

// ExitStatuses are the exit statuses of every command (cmd/ maps a result
// to them in one function; docs/exit-status.md is compared with this
// table by a test).
var ExitStatuses = []ExitStatus{
	{0, "all good", map[string]string{Demo: "the demo passed", Plan: "all good: the plan is printed", Install: "installed, or already installed; with --check, up to date or a change pending; at boot (no --strict), also a refusal or an outage with an installation kept (fail static)", Version: "the version is printed"}},
	{1, "problems found: validation (nothing was written) or verification", map[string]string{Demo: "", Plan: "problems found in the instances file or the selection: no instance is listed", Install: "refused: the bundle did not prove good, or its sequence is lower than the host's record (nothing on the host changed); at boot only when nothing of this prefix was installed", Version: ""}},
	{2, "bad usage or configuration", map[string]string{Demo: "bad usage (demo takes no arguments)", Version: "bad usage (version takes no arguments)"}},
	{3, "could not complete: S3 unreachable, access denied, no such bucket, timed out", map[string]string{Demo: "a step failed, or verify missed the tampered object", Plan: "", Install: "could not complete: S3 unreachable, access denied, disk failure (at boot only when nothing of this prefix was installed), or another install held the lock past --lock-timeout (nothing on the host changed)", Version: ""}},
}

// MeaningFor says what s means for cmd ("": never returned).
func (s ExitStatus) MeaningFor(cmd string) string {
	if m, ok := s.For[cmd]; ok {
		return m
	}
	return s.Meaning
}

// cliFlags lists a command's flags in the order Help shows them: the
// table's options of the command that are neither secrets nor Action-only.
func cliFlags(cmd string) []Option {
	var out []Option
	for _, o := range Options {
		if !o.Secret && !o.ActionOnly && o.AppliesTo(cmd) {
			out = append(out, o)
		}
	}
	return out
}

// Help is the text `clawdinator-bundle <command> --help` prints: usage,
// the flags with their values' names and defaults, the environment
// variables the command reads and its exit statuses. Any name that is not
// a command gives "".
func Help(mode string) string {
	summary, ok := summaries[mode]
	if !ok {
		return ""
	}
	var b strings.Builder
	flags := cliFlags(mode)
	switch {
	case Positional[mode] != "":
		fmt.Fprintf(&b, "usage: clawdinator-bundle %s [flags] %s\n\n", mode, Positional[mode])
	case len(flags) == 0:
		fmt.Fprintf(&b, "usage: clawdinator-bundle %s\n\n", mode)
	default:
		fmt.Fprintf(&b, "usage: clawdinator-bundle %s [flags]\n\n", mode)
	}
	b.WriteString(wrap(summary, "", width))
	if len(flags) > 0 {
		b.WriteString("\nflags:\n")
		for _, f := range flags {
			b.WriteString(flagHelp(f))
		}
		b.WriteString("  -h, --help\n" + wrap("Print this help.", indent, width))
		for _, f := range flags {
			if f.List {
				b.WriteString("\n" + wrap("A LIST is comma or newline separated; a list flag may be repeated, each time adding to the list (the first replaces the default).", "", width))
				break
			}
		}
	}
	env := ""
	for _, e := range Environment {
		if len(e.Modes) == 0 || contains(e.Modes, mode) {
			env += "  " + e.Name + "\n" + wrap(e.Description, indent, width)
		}
	}
	if env != "" {
		b.WriteString("\nenvironment:\n" + env)
	}
	b.WriteString("\nexit status:\n")
	for _, s := range ExitStatuses {
		if meaning := s.MeaningFor(mode); meaning != "" {
			b.WriteString(wrap(fmt.Sprintf("%d %s", s.Code, meaning), "  ", width))
		}
	}
	return b.String()
}

const (
	indent = "        "
	width  = 80
)

// flagHelp renders one flag: its names and value, then its description
// with the Markdown backquotes of the table turned to plain quotes, and its
// default.
func flagHelp(f Option) string {
	names := "  --" + f.Name
	if !f.Bool {
		names += " " + f.Arg
	}
	if f.Alias != "" {
		names += ", --" + f.Alias + " " + f.Arg
	}
	desc := strings.ReplaceAll(f.Description, "`", "'")
	if f.List {
		if def := strings.Join(splitList(f.Default), ", "); def != "" {
			desc += " (default: " + def + ")"
		}
	} else if f.Default != "" && !f.Bool {
		desc += " (default: " + f.Default + ")"
	}
	return names + "\n" + wrap(desc, indent, width)
}

// wrap breaks text into lines of at most width columns (a longer word
// stands alone), each starting with prefix and ending in a newline.
func wrap(text, prefix string, width int) string {
	var b strings.Builder
	line := prefix
	for _, word := range strings.Fields(text) {
		if len(line) > len(prefix) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += word
	}
	return b.String() + line + "\n"
}
