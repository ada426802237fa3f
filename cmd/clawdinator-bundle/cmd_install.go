package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/report"
)

var installCommand = command{
	name:    "install",
	summary: "on a host: install the proven bundle, the boot script's drop-in",
	run:     runInstall,
}

// runInstall installs a host's bundle. Its output is for the journal:
// plain lines on stderr, no progress bar, never a secret.
func runInstall(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
	cfg, err := config.InstallFromArgs(args, getenv, s.out)
	if errors.Is(err, config.ErrHelp) {
		return exitOK
	}
	say := func(format string, a ...any) {
		fmt.Fprintf(s.err, "%sinstall: %s\n", report.Prefix, report.Clean(fmt.Sprintf(format, a...)))
	}
	if err != nil {
		fmt.Fprintf(s.err, "%serror: %s\n", report.Prefix, report.Clean(err.Error()))
		return exitUsage
	}
	b, err := bucket.New(ctx, bucket.Config{Bucket: cfg.Bucket, Endpoint: cfg.Endpoint, RegionFromIMDS: true})
	if err != nil {
		fmt.Fprintf(s.err, "%serror: %s\n", report.Prefix, report.Clean(err.Error()))
		return exitUsage
	}
	if cfg.PrefixFile != "" {
		say("prefix %s (from %s)", cfg.Prefix, cfg.PrefixFile)
	}
	res, err := install.Run(ctx, install.Options{
		Bucket: b, Prefix: cfg.Prefix, SecretsArchive: cfg.SecretsArchive, SeedsArchive: cfg.SeedsArchive,
		SecretsDir: cfg.SecretsDir, SeedsDir: cfg.SeedsDir, KeyPath: cfg.KeyPath,
		Pin: cfg.Pin, PinSource: cfg.PinSource, AllowUnpinned: cfg.AllowUnpinned,
		Chown: os.Geteuid() == 0,
		Events: func(e install.Event) {
			switch e.Step {
			case "pin":
				say("pin %s (%s)", orUnset(e.Pin.Recipient), e.Pin.Source)
			case "download":
				say("fetching s3://%s/%s", cfg.Bucket, e.Object)
			case "extract":
				say("extracting %s into staging", e.Object)
			case "install":
				say("swapping into place")
			}
		},
	})
	if err != nil {
		fmt.Fprintf(s.err, "%serror: %s\n", report.Prefix, report.Clean(err.Error()))
		return exitUsage
	}
	presentInstall(s.err, cfg, res, say)
	switch {
	case res.Failure != nil:
		return exitFailed
	case !res.OK():
		return exitProblems
	}
	return exitOK
}

func presentInstall(w io.Writer, cfg *config.Install, res *install.Result, say func(string, ...any)) {
	if res.Secrets.Verified {
		key := "key matches the pin"
		if res.Pin.Unpinned {
			key = "key " + res.Pin.Recipient + " taken without a pin"
		}
		say("%s version %s sha256 %s: %s, %d secrets decrypt to EOF, statement of %s at %s",
			res.Secrets.Key, problem.ShortVersion(res.Secrets.VersionID), problem.Short(res.Secrets.SHA256), key, res.Proven, res.Instance, res.Prefix)
	}
	if res.AlreadyInstalled {
		say("already installed (statement sha256 %s): nothing changed, repo-seeds not downloaded", problem.Short(res.Statement))
	}
	if res.Seeds.Verified {
		say("%s version %s (%s) sha256 %s: the object the statement names, %d entries", res.Seeds.Key, problem.ShortVersion(res.Seeds.VersionID), res.SeedsFrom, problem.Short(res.Seeds.SHA256), res.SeedsEntries)
	}
	if len(res.Installed) > 0 {
		say("installed %s, %d secrets in %s, repo-seeds in %s (statement sha256 %s)", cfg.KeyPath, len(res.Installed), cfg.SecretsDir, cfg.SeedsDir, problem.Short(res.Statement))
	}
	if len(res.Removed) > 0 {
		say("removed secrets no longer bundled: %s", strings.Join(res.Removed, ", "))
	}
	for _, p := range res.Problems {
		fmt.Fprintf(w, "%s%s: %s\n", report.Prefix, p.Severity, report.Clean(p.String()))
	}
	if res.Failure != nil {
		fmt.Fprintf(w, "%serror: %s\n", report.Prefix, report.Clean(res.Failure.Error()))
	}
	switch {
	case res.Failure != nil:
		say("could not complete: nothing was changed on this host")
	case !res.OK():
		say("refused: nothing was changed on this host")
	}
}

func orUnset(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
