package main

import (
	"context"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

var publishCommand = command{
	name:    "publish",
	summary: "gate, upload, pull back and verify every instance's bundle in S3",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Publish, args, s, getenv)
	},
}
