//go:build nodemo

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/report"
)

// demoCommand in a build without the demo (-tags nodemo, the action's
// image): the name stays known, so the answer is a clear "not here", not
// "unknown command".
var demoCommand = command{
	name:    "demo",
	summary: "not in this build (-tags nodemo): run it from source with `go run ./cmd/clawdinator-bundle demo`",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		// --help answers as everywhere, saying where the demo is.
		if _, _, err := config.ParseArgs(ctx, config.Demo, args, getenv, config.Bindings{}, s.out); errors.Is(err, config.ErrHelp) {
			fmt.Fprintf(s.out, "\nnot in this build (-tags nodemo): go run ./cmd/clawdinator-bundle demo\n")
			return exitOK
		}
		report.Error(s.err, errors.New("demo is not in this build (built with -tags nodemo, no in-process S3 server)"))
		fmt.Fprintf(s.err, "%shint: go run ./cmd/clawdinator-bundle demo\n", report.Prefix)
		return exitUsage
	},
}
