package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// runCLI runs publish, verify, assemble or plan from command-line flags.
func runCLI(ctx context.Context, mode string, args []string, s stdio, getenv func(string) string) int {
	cfg, err := config.FromArgsContext(ctx, mode, args, getenv, s.err)
	if errors.Is(err, config.ErrHelp) {
		return exitOK
	}
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(s.err, "%serror: interrupted: %s\n", report.Prefix, report.Clean(err.Error()))
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(s.err, "%serror: %s\n", report.Prefix, report.Clean(err.Error()))
		return exitUsage
	}
	return runMode(ctx, cfg, s, getenv, &textPresenter{s: s, json: cfg.JSON, mode: result.Mode(mode)})
}

// textPresenter writes lines for people on stderr and, with --json, one
// JSON document on stdout.
type textPresenter struct {
	s    stdio
	json bool
	mode result.Mode
}

func (p *textPresenter) usage(err error) {
	fmt.Fprintf(p.s.err, "%serror: %s\n", report.Prefix, report.Clean(err.Error()))
	if p.json {
		report.JSON(p.s.out, &result.Result{Mode: p.mode, Failure: err})
	}
}

func (p *textPresenter) present(res *result.Result) {
	report.Text(p.s.err, res)
	if err := res.Err(); err != nil {
		fmt.Fprintf(p.s.err, "%serror: %s\n", report.Prefix, report.Clean(err.Error()))
	}
	if p.json {
		report.JSON(p.s.out, res)
		return
	}
	// plan's answer is its list: one name a line on stdout, for scripts.
	for _, pl := range res.Planned {
		fmt.Fprintln(p.s.out, report.Clean(pl.Instance))
	}
}
