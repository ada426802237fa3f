package publish_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// localFixture is the sample workload with the Inputs that assemble would
// build from it, and a private temporary directory for Prepare.
type localFixture struct {
	*sample.Fixture
	in gate.Inputs
}

func newLocalFixture(t testing.TB) *localFixture {
	t.Helper()
	f, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &localFixture{Fixture: f, in: gate.Inputs{
		AgeKey: f.Key, SecretsDir: f.SecretsDir, RepoSeedsDir: f.SeedsDir,
		Policy: plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude},
		Mtime:  time.Unix(1700000000, 0).UTC(), TempDir: t.TempDir(),
	}}
}

// localPrepare runs Prepare and fails on an operational error; the returned
// gate.Prepared is closed at the end of the test.
func localPrepare(t testing.TB, in gate.Inputs) (*gate.Prepared, problem.List) {
	t.Helper()
	prep, probs, err := gate.Prepare(context.Background(), in)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if prep != nil {
		t.Cleanup(func() { prep.Close() })
	}
	return prep, probs
}

// localEncrypt writes plaintext encrypted to a fresh identity only (a
// stale recipient) or to the given recipients.
func localEncrypt(t testing.TB, path string, plaintext []byte, to ...age.Recipient) {
	t.Helper()
	if len(to) == 0 {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		to = []age.Recipient{id.Recipient()}
	}
	if err := sample.Encrypt(path, plaintext, to...); err != nil {
		t.Fatal(err)
	}
}

// localRecipient is the fixture key's recipient, to re-encrypt a file to it.
func (f *localFixture) recipient(t testing.TB) age.Recipient {
	t.Helper()
	r, err := age.ParseX25519Recipient(f.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func localRender(probs problem.List) string {
	var b strings.Builder
	for _, p := range probs {
		b.WriteString("  ")
		b.WriteString(p.String())
		b.WriteString("\n")
	}
	return b.String()
}

// localFind returns the error-severity problem whose text holds every want.
func localFind(probs problem.List, want ...string) (problem.Problem, bool) {
next:
	for _, p := range probs.Errors() {
		s := p.String()
		for _, w := range want {
			if !strings.Contains(s, w) {
				continue next
			}
		}
		return p, true
	}
	return problem.Problem{}, false
}

func localRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var _ = bytes.Equal

// load returns the fixture's Inputs with the instances file as it is now.
func (f *localFixture) load() gate.Inputs {
	in := f.in
	in.Instances, in.InstancesProblems = plan.LoadInstances(f.InstancesFile)
	return in
}

// localCommon is a secret of the sample fleet that tests break or rewrite.
const localCommon = "clawdinator-control-token.age"
