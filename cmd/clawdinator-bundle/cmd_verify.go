package main

import (
	"context"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

var verifyCommand = command{
	name:    "verify",
	summary: "prove what S3 (or an assemble --out directory) holds now",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Verify, args, s, getenv)
	},
}
