package gate_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The gate runs before anything is uploaded and needs no network: it must
// not link the store, its SDK or an HTTP client, so that nothing it does
// can reach a bucket, and so that it stays small to build and to read.
func TestGateLinksNoStore(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the gate's dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 2 || deps[len(deps)-1] != "github.com/openclaw/clawdinator-bundle/internal/gate" {
		t.Fatalf("go list -deps listed %q: not the gate's dependencies", deps)
	}
	for _, d := range deps {
		switch {
		case strings.Contains(d, "aws"), strings.Contains(d, "smithy"),
			d == "net/http",
			d == "github.com/openclaw/clawdinator-bundle/internal/bucket",
			d == "github.com/openclaw/clawdinator-bundle/internal/proof":
			t.Errorf("the gate links %s", d)
		}
	}
	t.Logf("the gate links %d packages", len(deps))
}
