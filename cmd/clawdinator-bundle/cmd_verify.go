package main

import (
	"context"
	"os"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

var verifyCommand = command{
	name:    "verify",
	summary: "prove what S3 (or an assemble --out directory) holds now",
	run: func(ctx context.Context, args []string, s stdio, getenv func(string) string) int {
		return runCLI(ctx, config.Verify, args, s, getenv, nil)
	},
}

// verifyOptions are verify's options: read what the bucket (or an
// assemble --out directory, --dir) holds now, and verify it.
type verifyOptions struct {
	bucket bucket.Config
	dir    string
	in     verify.Inputs
	verify verify.Options
	// unpinned: expected-recipient was none, on purpose.
	unpinned bool
	// src is the drift reference: a directory or a bucket prefix.
	src secretsSource
	// noDrift: no drift reference was named and the default directory is
	// absent, so the drift check does not run (and the run says so).
	noDrift bool
}

func (o *verifyOptions) bindings() config.Bindings {
	b := config.Bindings{
		"expected-recipient": &o.verify.ExpectedRecipient,
		"deep-verify":        &o.verify.DeepVerify, "dir": &o.dir,
	}
	o.src.bind(b, &o.in.SecretsDir)
	bindPolicy(b, &o.in.InstancesFile, &o.in.Policy)
	return bindBucket(b, &o.bucket, false)
}

// environment decides what bundled secrets are compared with (drift):
// the bucket prefix of secrets-s3-prefix; the secrets dir when it was set
// (a flag given, an input other than its default), which must then exist;
// or, unset, the default directory when it exists (a checked-out
// repository). Without any, a scheduled check without the repository
// still runs, and says that it did not compare.
func (o *verifyOptions) environment(_ func(string) string, set config.Set) error {
	if o.verify.ExpectedRecipient == config.None {
		o.verify.ExpectedRecipient, o.unpinned = "", true
	}
	if o.dir != "" && o.src.prefix != "" {
		return problem.Usagef("secrets-s3-prefix is a prefix in s3-bucket: it does not go with --dir (use --secrets-dir)")
	}
	if err := o.src.check(set); err != nil {
		return err
	}
	if o.src.prefix == "" && !set["secrets-dir"] {
		if st, err := os.Stat(o.in.SecretsDir); err != nil || !st.IsDir() {
			o.in.SecretsDir, o.noDrift = "", true
		}
	}
	return nil
}

func (o *verifyOptions) run(ctx context.Context, prog *progress) (*result.Result, error) {
	// A configuration the S3 client refuses is a usage error, before
	// anything is read.
	b, err := openBucket(ctx, o.bucket, o.dir)
	if err != nil {
		return nil, err
	}
	var iprobs problem.List
	o.in.Instances, iprobs = plan.LoadInstances(o.in.InstancesFile)
	if len(iprobs) > 0 {
		return &result.Result{Mode: result.Verify, Problems: iprobs}, nil
	}
	if res, err := o.src.fetch(ctx, b, o.bucket.Bucket, result.Verify); res != nil || err != nil {
		return res, err
	}
	res := o.verifyIn(ctx, b, prog)
	o.src.finish(res)
	return res, nil
}

// defaultSecretsDir is secrets-dir's default, from the table.
func defaultSecretsDir() string {
	o, _ := config.Lookup("secrets-dir")
	return o.Default
}

// verifyIn verifies what b holds now for the instances read.
func (o *verifyOptions) verifyIn(ctx context.Context, b bucket.Bucket, prog *progress) *result.Result {
	o.verify.Bucket, o.verify.Events = b, prog.event
	res := verify.Verify(ctx, o.in, o.verify)
	if o.unpinned {
		res.Unpinned = true
		res.Problems.Warn(problem.Problem{Input: "expected-recipient", Message: "none: verified without a pin, so a bundle made with any key that decrypts its own secrets passes; pin the fleet key's age1... recipient"})
	}
	if o.noDrift {
		res.Problems.Warn(problem.Problem{Input: "secrets-dir", Message: "drift check not run: the default " + defaultSecretsDir() + " does not exist here; set secrets-s3-prefix (the bucket's secrets, under secrets-lock) or check out the secrets and set secrets-dir"})
	}
	return res
}
