package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/report"
)

// Exit statuses (docs/exit-status.md, config.ExitStatuses), mapped in one
// place: exitStatus.
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
	report.Error(s.err, fmt.Errorf("unknown command %q", name))
	fmt.Fprintf(s.err, "\n%s", usageText())
	return exitUsage
}

// outcome is what every command's run returns: whether it did all it set
// out to do, and why it could not complete when it could not.
type outcome interface {
	OK() bool
	Err() error
}

// presenter shows one audience what a command did: a terminal (text or
// --json), a GitHub Actions log, a host's journal.
type presenter[R outcome] interface {
	// usage reports an error found before anything ran (exit status 2),
	// or a start that was interrupted.
	usage(err error)
	// present reports the result.
	present(res R)
}

// conclude is how every command ends: the error or the result to its
// presenter, and the exit status.
func conclude[R outcome](p presenter[R], res R, err error) int {
	if err != nil {
		if errors.Is(err, config.ErrHelp) {
			return exitOK
		}
		p.usage(err)
		return exitStatus(nil, err)
	}
	p.present(res)
	return exitStatus(res, nil)
}

// exitStatus maps what a command returned to its exit status: the one
// place (docs/exit-status.md).
func exitStatus(res outcome, err error) int {
	switch {
	case errors.Is(err, config.ErrHelp):
		return exitOK
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return exitFailed // interrupted while reading --age-key-file
	case err != nil:
		return exitUsage
	case keptAtBoot(res):
		return exitOK // install at boot, failing static
	case res.Err() != nil:
		return exitFailed
	case !res.OK():
		return exitProblems
	}
	return exitOK
}

// keptAtBoot says an install at boot kept the installation in place
// after a refusal or an outage (install.Result.FailStatic).
func keptAtBoot(res outcome) bool {
	k, ok := res.(interface{ KeptAtBoot() bool })
	return ok && k.KeptAtBoot()
}

// usageError words an error found before anything ran: an interrupted
// start says so.
func usageError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("interrupted: %w", err)
	}
	return err
}

// openBucket opens the bucket of cfg, or the directory dir when it is set
// (verify --dir). What bucket.New refuses is the configuration's fault.
func openBucket(ctx context.Context, cfg bucket.Config, dir string) (bucket.Bucket, error) {
	if dir != "" {
		return bucket.Dir(dir), nil
	}
	b, err := bucket.New(ctx, cfg)
	if err != nil {
		if !errors.As(err, new(*problem.UsageError)) {
			err = &problem.UsageError{Msg: err.Error()}
		}
		return nil, err
	}
	return b, nil
}
