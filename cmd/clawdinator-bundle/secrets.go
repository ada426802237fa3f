package main

import (
	"context"
	"os"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/secretsrc"
)

// secretsSource says where publish and verify read the secrets: a
// directory (secrets-dir), or the *.age objects under a prefix of the
// bucket (secrets-s3-prefix) checked against a digest lock (secrets-lock),
// fetched into a private temporary directory that then stands in for the
// directory.
type secretsSource struct {
	// dir is the bound secrets-dir field of the acting package.
	dir      *string
	prefix   string
	lockPath string
	lock     *secretsrc.Lock
	// unlocked: secrets-lock was none, on purpose.
	unlocked bool
	fetched  *secretsrc.Source
}

// bind binds the source's options; dir is the field secrets-dir fills.
func (s *secretsSource) bind(b config.Bindings, dir *string) {
	s.dir = dir
	b["secrets-dir"] = dir
	b["secrets-s3-prefix"] = &s.prefix
	b["secrets-lock"] = &s.lockPath
}

// check checks what spans the source's options, once they are read: one
// source, a lock that reads, a directory named explicitly that exists.
// Every refusal is a usage error (exit status 2).
func (s *secretsSource) check(set config.Set) error {
	if s.prefix == "" {
		if set["secrets-lock"] {
			return problem.Usagef("secrets-lock is read only with secrets-s3-prefix: set secrets-s3-prefix, or drop secrets-lock")
		}
		if set["secrets-dir"] {
			if st, err := os.Stat(*s.dir); err != nil || !st.IsDir() {
				return problem.Usagef("secrets-dir %s is not a directory: check it out (the *.age files) or fetch it first, or read the secrets from the bucket with secrets-s3-prefix", *s.dir)
			}
		}
		return nil
	}
	if set["secrets-dir"] {
		return problem.Usagef("secrets-dir and secrets-s3-prefix both name the secrets: keep one")
	}
	*s.dir = ""
	switch s.lockPath {
	case "":
		return problem.Usagef("secrets-lock is empty: name the digest lock (default nix/age-secrets.sha256), or none to go without one")
	case config.None:
		s.unlocked = true
		return nil
	}
	lock, err := secretsrc.ReadLock(s.lockPath)
	if err != nil {
		return err
	}
	s.lock = lock
	return nil
}

// fetch reads the bucket's secrets, when the source is a prefix, and points
// the secrets-dir field at them. A non-nil result is the run's end: the
// objects the lock refused (exit status 1) or the store failing (exit
// status 3); the error is a usage error (exit status 2).
func (s *secretsSource) fetch(ctx context.Context, b bucket.Bucket, bucketName string, mode result.Mode) (*result.Result, error) {
	if s.prefix == "" {
		return nil, nil
	}
	st, ok := b.(secretsrc.Store)
	if !ok {
		return nil, problem.Usagef("secrets-s3-prefix needs s3-bucket (it is a prefix in the bucket)")
	}
	src, probs, err := secretsrc.Fetch(ctx, st, bucketName, s.prefix, s.lock, "")
	switch {
	case err != nil && bucket.IsOperational(err):
		return &result.Result{Mode: mode, Failure: err}, nil
	case err != nil:
		return nil, err
	case src == nil:
		return &result.Result{Mode: mode, Problems: probs}, nil
	}
	s.fetched = src
	*s.dir = src.Dir
	return nil, nil
}

// finish removes the fetched secrets and words what the run found about
// them by their objects, not the temporary files; with no lock, it says
// so.
func (s *secretsSource) finish(res *result.Result) {
	if s.fetched == nil {
		return
	}
	defer s.fetched.Close()
	if res == nil {
		return
	}
	dir := s.fetched.Dir + string(os.PathSeparator)
	prefix := secretsrc.NormalizePrefix(s.prefix)
	for i, p := range res.Problems {
		if rel, ok := strings.CutPrefix(p.File, dir); ok {
			res.Problems[i].File, res.Problems[i].Object = "", prefix+rel
		} else if p.File == s.fetched.Dir {
			res.Problems[i].File, res.Problems[i].Input = "", "secrets-s3-prefix "+s.fetched.URI
		}
		res.Problems[i].Message = strings.ReplaceAll(p.Message, dir, s.fetched.URI)
	}
	if s.unlocked {
		res.Problems.Warn(problem.Problem{Input: "secrets-lock", Message: "none: the secrets from " + s.fetched.URI + " were not checked against a digest lock, so whoever can write that prefix chooses what ships; keep a lock in the repository: (cd nix/age-secrets && sha256sum *.age) > nix/age-secrets.sha256"})
	}
}
