//go:build faults && linux

package install_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/faults"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
)

// swapPoints are the fault points of install's swap, in order.
var swapPoints = []string{"install.swap.seeds", "install.swap.key", "install.swap.secrets"}

// newBundle publishes a bundle the host installed before does not have:
// a secret rotated, a file added to repo-seeds.
func (w *world) newBundle(t *testing.T, plaintext string) {
	t.Helper()
	w.reencrypt(t, plan.DefaultRequired[4], plaintext)
	if err := os.WriteFile(filepath.Join(w.fx.SeedsDir, "openclaw", "NEW"), []byte(plaintext), 0o644); err != nil {
		t.Fatal(err)
	}
	w.publish(t, w.b)
}

// TestInstallSwapFailure makes each swap fail in turn: the ones already
// done are put back, and the host is as it was.
func TestInstallSwapFailure(t *testing.T) {
	w := newWorld(t)
	h := newHost(t)
	mustInstall(t, w.options(h, w.b, prefix1))
	w.newBundle(t, "rotated")
	before := snapshot(t, h.root)
	for _, point := range swapPoints {
		restore := faults.Set(point, faults.Fail)
		res := run(t, w.options(h, w.b, prefix1))
		restore()
		var fe *faults.Error
		if !errors.As(res.Failure, &fe) || fe.Point != point {
			t.Fatalf("%s failing: the run did not fail there: %v", point, res.Failure)
		}
		if !strings.Contains(res.Failure.Error(), "put back") {
			t.Fatalf("%s failing: %v", point, res.Failure)
		}
		requireSame(t, point+" failing", before, snapshot(t, h.root))
	}
	mustInstall(t, w.options(h, w.b, prefix1))
}

// killChild, in the environment of the test binary run as a child, holds
// the install it must run (as JSON).
const killChild = "INSTALL_TEST_KILL_CHILD"

// childInstall is what the child needs to run an install: the bucket, and
// the options but the bucket.
type childInstall struct {
	Bucket                                               bucket.Config
	Prefix, SecretsDir, SeedsDir, KeyPath, StateDir, Pin string
}

// killPoints are the fault points of install's commit, in order
// (commitMarked): a run killed at any of them is healed by the next, and
// between the first and the last the host has no sentinel.
var killPoints = []string{"install.unmark", "install.swap.seeds", "install.swap.key", "install.swap.secrets", "install.record", "install.mark", "install.cleanup"}

// TestInstallKilledAtSwap kills an install (SIGKILL, in a child process)
// at each kill point, one subtest per point: until the sentinel is written
// no one sees the host as installed (the sentinel is gone, so the boot
// script's test fails and install at boot does not fail static onto it),
// and the next run installs the bundle whole and leaves no staging behind,
// as on a host that was never interrupted.
func TestInstallKilledAtSwap(t *testing.T) {
	if spec := os.Getenv(killChild); spec != "" {
		runKillChild(t, spec)
		return
	}
	w := newWorld(t)
	for i, point := range killPoints {
		t.Run(point, func(t *testing.T) {
			h := newHost(t)
			mustInstall(t, w.options(h, w.b, prefix1))
			oldSentinel, err := os.ReadFile(filepath.Join(h.secretsDir, install.SentinelName))
			if err != nil {
				t.Fatal(err)
			}
			w.newBundle(t, "rotated "+point)

			spec, err := json.Marshal(childInstall{
				Bucket: bucket.Config{
					Bucket: w.bkt, Region: w.srv.Region, Endpoint: w.srv.Endpoint,
					AccessKeyID: w.srv.AccessKey, SecretAccessKey: w.srv.SecretKey,
				},
				Prefix: prefix1, SecretsDir: h.secretsDir, SeedsDir: h.seedsDir, KeyPath: h.keyPath, StateDir: h.stateDir, Pin: w.fx.Recipient,
			})
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestInstallKilledAtSwap$", "-test.count=1")
			cmd.Env = append(os.Environ(), killChild+"="+string(spec), faults.EnvVar+"="+point+"=kill")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the install was not killed: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "event install") {
				t.Fatalf("the install was killed before it committed:\n%s", out)
			}
			// What the kill left: staging next to the destinations, and
			// the steps before the point done.
			stale, _ := filepath.Glob(filepath.Join(filepath.Dir(h.seedsDir), ".*.install-*"))
			if len(stale) == 0 {
				t.Fatal("the killed install left no staging: it was not killed mid-install")
			}
			// (NEW holds what this subtest's bundle wrote: earlier ones wrote
			// it too, with their own text.)
			if data, _ := os.ReadFile(filepath.Join(h.seedsDir, "openclaw", "NEW")); (string(data) == "rotated "+point) != (i > 1) {
				t.Errorf("killed at %s: the new repo-seeds is in place: %v", point, string(data) == "rotated "+point)
			}
			sentinel, err := os.ReadFile(filepath.Join(h.secretsDir, install.SentinelName))
			switch point {
			case "install.unmark":
				if err != nil || string(sentinel) != string(oldSentinel) {
					t.Errorf("killed before anything changed: the old sentinel is not in place (%v)", err)
				}
			case "install.cleanup":
				if err != nil || string(sentinel) == string(oldSentinel) {
					t.Errorf("killed after the sentinel was written: no new sentinel (%v)", err)
				}
			default:
				if err == nil {
					t.Errorf("killed at %s, between the swaps: the host has a sentinel, it would be taken for installed", point)
				}
				// At boot with the bucket out of reach, install does not
				// keep a mixed host: it is not an installation.
				dead := w.open(t, "http://127.0.0.1:9")
				opt := w.options(h, dead, prefix1)
				if res := run(t, opt); res.OK() || res.Kept || res.FailStatic {
					t.Errorf("killed at %s, then the bucket out of reach: ok %v kept %v fail static %v", point, res.OK(), res.Kept, res.FailStatic)
				}
			}

			mustInstall(t, w.options(h, w.b, prefix1))
			fresh := newHost(t)
			mustInstall(t, w.options(fresh, w.b, prefix1))
			requireSame(t, "killed, then installed again", snapshot(t, fresh.root), snapshot(t, h.root))
		})
	}
}

// runKillChild runs the install spec describes, printing each step, and
// prints "survived" if it returns.
func runKillChild(t *testing.T, spec string) {
	var c childInstall
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		t.Fatal(err)
	}
	b, err := bucket.New(context.Background(), c.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	opt := hostOptions(host{secretsDir: c.SecretsDir, seedsDir: c.SeedsDir, keyPath: c.KeyPath, stateDir: c.StateDir}, b, c.Prefix, c.Pin)
	opt.Events = func(e progress.Event) { os.Stdout.WriteString("event " + e.Step + "\n") }
	res, err := install.Run(context.Background(), opt)
	t.Logf("survived: %v %+v", err, res)
}
