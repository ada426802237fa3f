package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	pg "github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/report"
)

var installCommand = command{
	name:    "install",
	summary: "on a host: install the proven bundle, the boot script's drop-in",
	run:     runInstall,
}

// installOptions are install's: the boot script's positional arguments, in
// its order, and flags, bound to the bucket and to internal/install.
type installOptions struct {
	bucket  bucket.Config
	install install.Options
}

func (o *installOptions) bindings() config.Bindings {
	return config.Bindings{
		"s3-endpoint": &o.bucket.Endpoint, "expected-recipient": &o.install.Pin,
		"expected-recipient-file": &o.install.PinFile, "allow-unpinned-first-boot": &o.install.AllowUnpinned,
	}
}

// arguments reads the positional arguments and the environment.
func (o *installOptions) arguments(pos []string, getenv func(string) string) error {
	if len(pos) < 5 || len(pos) > 7 {
		return problem.Usagef("install takes 5 to 7 arguments (%s), got %d (see clawdinator-bundle install --help)", config.Positional[config.Install], len(pos))
	}
	in := &o.install
	o.bucket.Bucket, in.Prefix, in.SecretsDir, in.SeedsDir, in.KeyPath = pos[0], pos[1], pos[2], pos[3], pos[4]
	in.SecretsArchive, in.SeedsArchive = "secrets.tar.zst", "repo-seeds.tar.zst"
	if len(pos) > 5 {
		in.SecretsArchive = pos[5]
	}
	if len(pos) > 6 {
		in.SeedsArchive = pos[6]
	}
	for _, a := range []struct{ what, v string }{{"BUCKET", o.bucket.Bucket}, {"SECRETS_ARCHIVE", in.SecretsArchive}, {"SEEDS_ARCHIVE", in.SeedsArchive}} {
		if a.v == "" {
			return problem.Usagef("%s is empty", a.what)
		}
	}
	if err := bucket.CheckName("BUCKET", o.bucket.Bucket); err != nil {
		return err
	}
	// The image may put the prefix in a file, as the boot script reads it.
	if in.PrefixFile = getenv("BOOTSTRAP_PREFIX_FILE"); in.PrefixFile == "" {
		in.PrefixFile = config.DefaultPrefixFile
	}
	o.bucket.RegionFromIMDS = true
	in.Chown = os.Geteuid() == 0
	return nil
}

// runInstall installs a host's bundle. Its output is for the journal:
// plain lines on stderr, no progress bar, never a secret.
func runInstall(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
	var o installOptions
	p := &journalPresenter{w: s.err, opt: &o.install}
	pos, _, err := config.ParseArgs(ctx, config.Install, args, getenv, o.bindings(), s.out)
	if err == nil {
		err = o.arguments(pos, getenv)
	}
	if err != nil {
		return conclude[*install.Result](p, nil, err)
	}
	// Everything that needs no bucket first: a bad option, not what the
	// AWS configuration lacks, is the error an operator reads.
	o.install.Events = func(e pg.Event) { p.event(e, o.bucket.Bucket) }
	checked, err := install.Check(o.install)
	if err != nil {
		return conclude[*install.Result](p, nil, err)
	}
	b, err := openBucket(ctx, o.bucket, "")
	if err != nil {
		return conclude[*install.Result](p, nil, err)
	}
	res, err := checked.Install(ctx, b)
	return conclude(p, res, err)
}

// journalPresenter writes install's lines for a host's journal.
type journalPresenter struct {
	w   io.Writer
	opt *install.Options
}

func (p *journalPresenter) say(format string, a ...any) {
	fmt.Fprintf(p.w, "%sinstall: %s\n", report.Prefix, report.Clean(fmt.Sprintf(format, a...)))
}

func (p *journalPresenter) usage(err error) { report.Error(p.w, err) }

// event reports a step as it starts.
func (p *journalPresenter) event(e pg.Event, bucketName string) {
	switch e.Step {
	case "prefix":
		p.say("prefix %s (from %s)", e.Object, p.opt.PrefixFile)
	case "pin":
		p.say("pin %s (%s)", orUnset(e.Object), e.Detail)
	case "download":
		p.say("fetching s3://%s/%s", bucketName, e.Object)
	case "extract":
		p.say("extracting %s into staging", e.Object)
	case "install":
		p.say("swapping into place")
	}
}

func (p *journalPresenter) present(res *install.Result) {
	if res.Secrets.Verified {
		key := "key matches the pin"
		if res.Pin.Unpinned {
			key = "key " + res.Pin.Recipient + " taken without a pin"
		}
		p.say("%s version %s sha256 %s: %s, %d secrets decrypt to EOF, statement of %s at %s",
			res.Secrets.Key, problem.ShortVersion(res.Secrets.VersionID), problem.Short(res.Secrets.SHA256), key, res.Proven, res.Instance, res.Prefix)
	}
	if res.AlreadyInstalled {
		p.say("already installed (statement sha256 %s): nothing changed, repo-seeds not downloaded", problem.Short(res.Statement))
	}
	if res.Seeds.Verified {
		p.say("%s version %s (%s) sha256 %s: the object the statement names, %d entries", res.Seeds.Key, problem.ShortVersion(res.Seeds.VersionID), res.SeedsFrom, problem.Short(res.Seeds.SHA256), res.SeedsEntries)
	}
	if len(res.Installed) > 0 {
		p.say("installed %s, %d secrets in %s, repo-seeds in %s (statement sha256 %s)", p.opt.KeyPath, len(res.Installed), p.opt.SecretsDir, p.opt.SeedsDir, problem.Short(res.Statement))
	}
	if len(res.Removed) > 0 {
		p.say("removed secrets no longer bundled: %s", strings.Join(res.Removed, ", "))
	}
	report.Problems(p.w, res.Problems)
	if res.Failure != nil {
		report.Error(p.w, res.Failure)
	}
	switch {
	case res.Failure != nil:
		p.say("could not complete: nothing was changed on this host")
	case !res.OK():
		p.say("refused: nothing was changed on this host")
	}
}

func orUnset(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
