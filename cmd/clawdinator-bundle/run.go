package main

import (
	"context"
	"fmt"
	"io"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/engine"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Exit statuses (docs/exit-status.md), mapped from a result in one place:
// exitCode.
const (
	exitOK       = 0 // all good
	exitProblems = 1 // validation or verification found problems
	exitUsage    = 2 // bad usage or configuration
	exitFailed   = 3 // could not complete: S3 unreachable, denied, timed out
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one subcommand; each lives in its own cmd_<name>.go.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, s stdio, getenv func(string) string) int
}

func commands() []command {
	return []command{publishCommand, verifyCommand, assembleCommand, planCommand, installCommand, demoCommand, versionCommand}
}

func usageText() string {
	text := "usage: clawdinator-bundle <command> [flags]\n\ncommands:\n"
	for _, c := range commands() {
		text += fmt.Sprintf("  %-9s  %s\n", c.name, c.summary)
	}
	return text + `
Run 'clawdinator-bundle <command> --help' for a command's flags.
Inside a GitHub Action (GITHUB_ACTIONS=true, no arguments) options come from INPUT_* variables.
exit status: 0 all good, 1 problems found, 2 bad usage, 3 could not complete
`
}

// run is main without the process: arguments, streams and environment come
// in, an exit status goes out.
func run(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
	if len(args) == 0 {
		if getenv("GITHUB_ACTIONS") == "true" {
			return runAction(ctx, s, getenv)
		}
		fmt.Fprint(s.err, usageText())
		return exitUsage
	}
	name := args[0]
	switch name {
	case "--version", "-version":
		name = "version"
	case "help", "--help", "-help", "-h":
		fmt.Fprint(s.out, usageText())
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], s, getenv)
		}
	}
	fmt.Fprintf(s.err, "%serror: unknown command %q\n\n%s", report.Prefix, name, usageText())
	return exitUsage
}

// presenter shows a run's result: on a terminal (text, --json) or in a
// GitHub Actions log. It owns all escaping and drawing.
type presenter interface {
	// usage reports a configuration error found when the run started.
	usage(err error)
	// present reports the result.
	present(res *result.Result)
}

// runMode runs one mode of the engine and hands its result to p: the one
// pipeline behind the CLI, the Action and the demo.
func runMode(ctx context.Context, cfg *config.Config, s stdio, getenv func(string) string, p presenter) int {
	prog := newProgress(s.err, getenv)
	res, err := engine.Run(ctx, cfg, engine.Options{Version: version, Events: prog.event, SeedsProgress: prog.seeds})
	prog.done()
	if err != nil {
		p.usage(err)
		return exitUsage
	}
	p.present(res)
	return exitCode(res)
}

// exitCode maps a result to the exit status.
func exitCode(res *result.Result) int {
	switch {
	case res.Err() != nil:
		return exitFailed
	case !res.OK():
		return exitProblems
	}
	return exitOK
}
