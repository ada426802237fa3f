package config

import (
	"fmt"
	"strings"
)

// Demo is the subcommand that runs publish and verify on generated data; it
// takes no flags, but Help describes it.
const Demo = "demo"

// summaries says in one sentence what each subcommand does.
var summaries = map[string]string{
	Publish:  "Gate, upload, pull back and verify every instance's bundle in S3.",
	Verify:   "Prove what S3 (or a directory written by 'assemble --out') holds now.",
	Assemble: "Build the bundles on local disk (--out DIR), no network; without --out, check and build in memory and write nothing.",
	Plan:     "Read the instances file only (no key, no bucket, no secrets dir) and list the instances a run with the same --instances would process: their names on stdout, one a line, or the whole plan with --json. A workflow fans publish or verify out over them with a matrix.",
	Demo:     "Run publish and verify end to end on generated data, in-process: a throwaway key, sample secrets and an S3-compatible server on 127.0.0.1, then tamper with one object and show verify catching it. No network, no credentials. Takes no flags.",
}

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
	{Name: "SOURCE_DATE_EPOCH", Modes: []string{Publish, Assemble}, Description: "Mtime stamped on archive entries, in seconds since 1970 (default 0)."},
	{Name: "GITHUB_REPOSITORY", Modes: []string{Publish, Assemble}, Description: "Recorded in each manifest.json as source.repository."},
	{Name: "GITHUB_SHA", Modes: []string{Publish, Assemble}, Description: "Recorded in each manifest.json as source.sha."},
	{Name: "GITHUB_RUN_ID", Modes: []string{Publish, Assemble}, Description: "Recorded in each manifest.json as source.runId."},
	{Name: "CLAWDINATOR_PROGRESS", Modes: []string{Publish, Verify, Assemble, Demo}, Description: "0 disables the progress lines."},
}

// exitStatus is one line of Help's "exit status:" section.
type exitStatus struct {
	code    int
	meaning string
	// demo is what the status means for demo; empty: demo never exits with
	// it.
	demo string
	// plan is what it means for plan; empty: plan never exits with it.
	plan string
}

var exitStatuses = []exitStatus{
	{0, "all good", "the demo passed", "all good: the plan is printed"},
	{1, "problems found: validation (nothing was written) or verification", "", "problems found in the instances file or the selection: no instance is listed"},
	{2, "bad usage or configuration", "bad usage (demo takes no arguments)", "bad usage or configuration"},
	{3, "could not complete: S3 unreachable, access denied, no such bucket, timed out", "a step failed, or verify missed the tampered object", ""},
}

// cliFlags lists a subcommand's flags in the order Help shows them: the
// table's options that are not secrets, --age-key-file where the age key
// would be, --dir after --s3-bucket in verify, and --json.
func cliFlags(mode string) []Option {
	var out []Option
	for _, o := range Options {
		if o.Name == "mode" || !appliesTo(o, mode) {
			continue
		}
		if o.Name == "age-key" {
			out = append(out, Option{Name: "age-key-file", Arg: "FILE", Description: "File holding the age identity (default: $CLAWDINATOR_AGE_KEY)."})
		}
		if !o.Secret {
			out = append(out, o)
		}
		if o.Name == "s3-bucket" && mode == Verify {
			out = append(out, Option{Name: "dir", Arg: "DIR", Description: "Verify a local directory written by `assemble --out` instead of a bucket."})
		}
	}
	return append(out, Option{Name: "json", Bool: true, Description: "Print the result as JSON on stdout."})
}

// Help is the text `clawdinator-bundle <mode> --help` prints: usage, the
// flags with their values' names and defaults, the environment variables
// the mode reads and the exit statuses. mode is publish, verify, assemble,
// plan or demo; any other gives "".
func Help(mode string) string {
	summary, ok := summaries[mode]
	if !ok {
		return ""
	}
	var b strings.Builder
	if mode == Demo {
		b.WriteString("usage: clawdinator-bundle demo\n\n")
	} else {
		fmt.Fprintf(&b, "usage: clawdinator-bundle %s [flags]\n\n", mode)
	}
	b.WriteString(wrap(summary, "", width))
	if mode != Demo {
		b.WriteString("\nflags:\n")
		for _, f := range cliFlags(mode) {
			b.WriteString(flagHelp(f))
		}
		b.WriteString("  -h, --help\n" + wrap("Print this help.", indent, width))
		b.WriteString("\n" + wrap("A LIST is comma or newline separated; a list flag may be repeated, each time adding to the list (the first replaces the default).", "", width))
	}
	env := ""
	for _, e := range Environment {
		if len(e.Modes) == 0 || appliesTo(Option{Modes: e.Modes}, mode) {
			env += "  " + e.Name + "\n" + wrap(e.Description, indent, width)
		}
	}
	if env != "" {
		b.WriteString("\nenvironment:\n" + env)
	}
	b.WriteString("\nexit status:\n")
	for _, s := range exitStatuses {
		meaning := s.meaning
		switch mode {
		case Demo:
			meaning = s.demo
		case Plan:
			meaning = s.plan
		}
		if meaning != "" {
			b.WriteString(wrap(fmt.Sprintf("%d %s", s.code, meaning), "  ", width))
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
