//go:build linux

package install_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// countingProxy stands in front of the S3 server and counts the body
// bytes of every GET it passes on, by object version: what a host
// received. lie, when set, may change a response before it is passed on.
type countingProxy struct {
	url string
	lie func(r *http.Request, resp *http.Response)

	mu  sync.Mutex
	got map[string]int64 // version id -> body bytes of GETs
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{got: map[string]int64{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// The client signed the Host it sent (SigV4).
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			if p.lie != nil {
				p.lie(resp.Request, resp)
			}
			if resp.Request.Method == http.MethodGet {
				resp.Body = &countingBody{ReadCloser: resp.Body, p: p, version: resp.Header.Get("X-Amz-Version-Id")}
			}
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// Got is how many body bytes of version the proxy passed on.
func (p *countingProxy) Got(version string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[version]
}

type countingBody struct {
	io.ReadCloser
	p       *countingProxy
	version string
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.p.mu.Lock()
	c.p.got[c.version] += int64(n)
	c.p.mu.Unlock()
	return n, err
}

// putPlain writes size bytes at key with the aws CLI's plain put-object
// (the store keeps no SHA-256 of it), as a bucket writer without the key
// can, and returns the version id.
func (w *world) putPlain(t *testing.T, key string, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "planted")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(awsCLI, "--endpoint-url", w.srv.Endpoint, "s3api", "put-object", "--bucket", w.bkt, "--key", key, "--body", p,
		"--query", "VersionId", "--output", "text")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, w.srv.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws s3api put-object %s: %v\n%s", key, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestInstallBoundedSeeds: a writer without the key plants 100 MiB at the
// seeds key, with no SHA-256 kept by the store. A booting host asks its
// size first and downloads none of it, then installs the manifest's good
// version. A store that answers HEAD with the statement's size (or an
// object replaced between HEAD and GET) still costs at most the named size
// plus one byte: the GET asks for that range only.
func TestInstallBoundedSeeds(t *testing.T) {
	w := newWorld(t)
	if _, err := os.Stat(awsCLI); err != nil {
		if inCI {
			t.Fatalf("aws CLI: %v", err)
		}
		t.Skipf("aws CLI: %v", err)
	}
	st := w.statement(t, prefix1)
	size := st.RepoSeeds.Size
	planted := w.putPlain(t, prefix1+"/repo-seeds.tar.zst", 100<<20)

	p := startCountingProxy(t, w.srv.Endpoint)
	h := newHost(t)
	res := mustInstall(t, w.options(h, w.open(t, p.url), prefix1))
	if res.SeedsFrom != "manifest" || res.Seeds.Size != size {
		t.Errorf("installed seeds from %q, %d bytes", res.SeedsFrom, res.Seeds.Size)
	}
	if got := p.Got(planted); got != 0 {
		t.Errorf("the planted 100 MiB version: %d bytes received, want 0 (its size is not the statement's)", got)
	}
	if got := p.Got(res.Seeds.VersionID); got != size {
		t.Errorf("the manifest's version: %d bytes received, want %d", got, size)
	}

	// HEAD lies: the planted version claims the statement's size.
	p.lie = func(r *http.Request, resp *http.Response) {
		if r.Method == http.MethodHead && resp.Header.Get("X-Amz-Version-Id") == planted {
			resp.ContentLength = size
			resp.Header.Set("Content-Length", strconv.FormatInt(size, 10))
		}
	}
	h2 := newHost(t)
	res = mustInstall(t, w.options(h2, w.open(t, p.url), prefix1))
	if res.SeedsFrom != "manifest" {
		t.Errorf("installed seeds from %q", res.SeedsFrom)
	}
	if got := p.Got(planted); got == 0 || got > size+1 {
		t.Errorf("the planted version, its HEAD lying: %d bytes received, want 1 to %d (the statement's size plus one)", got, size+1)
	}
	requireSame(t, "bounded", snapshot(t, h.root), snapshot(t, h2.root))
}
