// Command clawdinator-bundle builds, uploads and proves CLAWDINATOR
// bootstrap bundles. Run it with no arguments inside a GitHub Action, or as
// `clawdinator-bundle publish|verify|assemble|demo` on a terminal.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.Getenv)
	stop()
	os.Exit(code)
}
