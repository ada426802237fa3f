package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

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
	// lockTimeout and floor are read as text, checked by the table.
	lockTimeout, floor string
	json               bool
}

func (o *installOptions) bindings() config.Bindings {
	return config.Bindings{
		"s3-endpoint": &o.bucket.Endpoint, "aws-region": &o.bucket.Region, "expected-recipient": &o.install.Pin,
		"expected-recipient-file": &o.install.PinFile, "allow-unpinned-first-boot": &o.install.AllowUnpinned,
		"strict": &o.install.Strict, "check": &o.install.CheckOnly, "state-dir": &o.install.StateDir,
		"lock-timeout": &o.lockTimeout, "sequence-floor": &o.floor, "json": &o.json,
	}
}

// arguments reads the positional arguments and the environment.
func (o *installOptions) arguments(pos []string, getenv func(string) string) error {
	if len(pos) != 5 && len(pos) != 7 {
		return problem.Usagef("install takes 5 or 7 arguments (%s: both archive names or neither, as the fleet's unit passes them), got %d (see clawdinator-bundle install --help)", config.Positional[config.Install], len(pos))
	}
	in := &o.install
	o.bucket.Bucket, in.Prefix, in.SecretsDir, in.SeedsDir, in.KeyPath = pos[0], pos[1], pos[2], pos[3], pos[4]
	in.SecretsArchive, in.SeedsArchive = "secrets.tar.zst", "repo-seeds.tar.zst"
	if len(pos) == 7 {
		in.SecretsArchive, in.SeedsArchive = pos[5], pos[6]
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
	// Both were checked when the table read them.
	secs, _ := strconv.Atoi(o.lockTimeout)
	in.LockTimeout = time.Duration(secs) * time.Second
	in.SequenceFloor, _ = strconv.ParseUint(o.floor, 10, 64)
	return nil
}

// regionHint words a failure to open the bucket when no region was set:
// off EC2, instance metadata cannot give one.
func (o *installOptions) regionHint(err error, getenv func(string) string) error {
	if o.bucket.Region != "" || getenv("AWS_REGION") != "" || getenv("AWS_DEFAULT_REGION") != "" {
		return err
	}
	return problem.Usagef("no AWS region: none was set and the EC2 instance metadata gave none (not on EC2?): set AWS_REGION or pass --aws-region (%v)", err)
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
		hinted := o.regionHint(err, getenv)
		// No region at boot may be the instance metadata not answering
		// yet: an outage, which an installation in place outlasts.
		if hinted != err {
			if res := checked.Unopened(hinted); res.FailStatic {
				if o.json {
					installJSON(s.out, res)
				}
				return conclude(p, res, nil)
			}
		}
		return conclude[*install.Result](p, nil, hinted)
	}
	res, err := checked.Install(ctx, b)
	if err == nil && o.json {
		installJSON(s.out, res)
	}
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
	case "reinit":
		p.bootstrap("%s", e.Object)
	}
}

func (p *journalPresenter) present(res *install.Result) {
	if res.Secrets.Verified {
		key := "key matches the pin"
		if res.Pin.Unpinned {
			key = "key " + res.Pin.Recipient + " taken without a pin"
		}
		p.say("%s version %s sha256 %s: %s, %d secrets decrypt to EOF, statement of %s at %s, sequence %d",
			res.Secrets.Key, problem.ShortVersion(res.Secrets.VersionID), problem.Short(res.Secrets.SHA256), key, res.Proven, res.Instance, res.Prefix, res.Sequence)
	}
	if res.AlreadyInstalled {
		p.say("already installed (statement sha256 %s): nothing changed, repo-seeds not downloaded", problem.Short(res.Statement))
	}
	if res.Seeds.Verified {
		p.say("%s version %s (%s) sha256 %s: the object the statement names, %d entries", res.Seeds.Key, problem.ShortVersion(res.Seeds.VersionID), res.SeedsFrom, problem.Short(res.Seeds.SHA256), res.SeedsEntries)
	}
	if res.SeedsKept && !p.opt.CheckOnly {
		p.say("repo-seeds kept: the statement names the tree installed in %s (not downloaded, not extracted)", p.opt.SeedsDir)
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
	case p.opt.CheckOnly && res.OK() && res.Pending:
		seeds := "repo-seeds kept (the tree installed)"
		if !res.SeedsKept {
			seeds = fmt.Sprintf("repo-seeds version %s (%s, %d bytes) to download", problem.ShortVersion(res.Seeds.VersionID), res.SeedsFrom, res.Seeds.Size)
		}
		p.say("check: pending: statement sha256 %s, sequence %d, is not the one installed; a run would install it, %s", problem.Short(res.Statement), res.Sequence, seeds)
	case p.opt.CheckOnly && res.OK():
		p.say("check: up to date: the statement installed is the bucket's current one")
	case p.opt.CheckOnly:
		p.say("check: problem: see above (nothing was written)")
	case res.FailStatic:
		why := "the bundle in the bucket was refused"
		if res.Failure != nil {
			why = "the run could not complete"
		}
		p.bootstrap("kept the installation in place (fail static at boot): %s; nothing was changed", why)
		p.bootstrap("already initialized")
	case errors.Is(res.Failure, install.ErrLocked):
		// The error line above says it all.
	case res.Failure != nil:
		p.say("could not complete: the previous installation is in place, or the host is left unmarked and the next run installs it")
	case !res.OK():
		p.say("refused: nothing was changed on this host")
	case res.Changed:
		p.bootstrap("done")
	case res.AlreadyInstalled:
		p.bootstrap("already initialized")
	}
}

// bootstrap writes one of the boot script's own lines.
func (p *journalPresenter) bootstrap(format string, a ...any) {
	fmt.Fprintf(p.w, "clawdinator-bootstrap: %s\n", report.Clean(fmt.Sprintf(format, a...)))
}

// installJSONDoc is install's --json document: the result, whether it
// counts as a success, its problems and its error.
type installJSONDoc struct {
	*install.Result
	OK       bool                 `json:"ok"`
	Problems []report.JSONProblem `json:"problems"`
	Error    string               `json:"error,omitempty"`
}

func installJSON(w io.Writer, res *install.Result) {
	doc := installJSONDoc{Result: res, OK: res.OK() || res.FailStatic, Problems: []report.JSONProblem{}}
	for _, pr := range res.Problems {
		doc.Problems = append(doc.Problems, report.JSONProblem{Severity: pr.Severity.String(), Instance: pr.Instance, Input: pr.Input, File: pr.File, Object: pr.Object, Entry: pr.Entry, Message: pr.Message})
	}
	if res.Failure != nil {
		doc.Error = res.Failure.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(doc)
}

func orUnset(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
