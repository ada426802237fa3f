package faultproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

// upstream is a plain HTTP server that reads request bodies to the end and
// answers GET with a 64 KiB body. It counts the requests it saw.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Host-Seen", r.Host)
		w.Header().Set("Content-Length", "65536")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func start(t *testing.T, target string, cfg Config) *Proxy {
	t.Helper()
	p, err := Start(target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// client has no retries and no connection reuse, so each request is one
// attempt on a fresh connection.
func client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
}

func TestFaults(t *testing.T) {
	up, hits := upstream(t)
	p := start(t, up.URL, Config{})
	c := client()
	put := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPut, p.URL+"/bucket/key", bytes.NewReader(make([]byte, 256<<10)))
		return c.Do(req)
	}
	get := func() (*http.Response, error) { return c.Get(p.URL + "/bucket/key") }
	head := func() (*http.Response, error) { return c.Head(p.URL + "/bucket/key") }

	for _, tc := range []struct {
		name    string
		fault   Fault
		do      func() (*http.Response, error)
		status  int    // 0: the request must fail
		code    string // S3 error code in the body
		reached bool   // whether the upstream saw the request
		cutBody bool   // the body must end early with an error
	}{
		{"none", None, get, 200, "", true, false},
		{"slowdown", SlowDown, put, 503, "SlowDown", false, false},
		{"internal error", InternalError, get, 500, "InternalError", false, false},
		{"reset request with body", ResetRequest, put, 0, "", false, false},
		{"reset request without body", ResetRequest, get, 0, "", false, false},
		{"reset response mid-body", ResetResponse, get, 200, "", true, true},
		{"reset response without body", ResetResponse, head, 0, "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{}
			if tc.fault != None {
				cfg.Rules = []Rule{Always(tc.fault, nil)}
			}
			if err := p.Set(cfg); err != nil {
				t.Fatal(err)
			}
			before, hitsBefore := p.Stats(), hits.Load()
			resp, err := tc.do()
			if tc.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request succeeded with %s, want a connection error", resp.Status)
				}
			} else {
				if err != nil {
					t.Fatalf("request failed: %v", err)
				}
				data, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.code != "" && !strings.Contains(string(data), "<Error><Code>"+tc.code+"</Code>") {
					t.Fatalf("body %q is not an S3 %s error", data, tc.code)
				}
				if tc.cutBody && (rerr == nil || len(data) >= 65536 || len(data) == 0) {
					t.Fatalf("read %d bytes, error %v: want part of the body, then an error", len(data), rerr)
				}
				if !tc.cutBody && rerr != nil {
					t.Fatalf("read body: %v", rerr)
				}
			}
			if got := hits.Load() - hitsBefore; (got == 1) != tc.reached {
				t.Fatalf("upstream saw %d requests, reached=%v expected", got, tc.reached)
			}
			d := p.Stats().Sub(before)
			want := Stats{Requests: 1}
			if tc.reached {
				want.Forwarded = 1
			}
			switch tc.fault {
			case SlowDown:
				want.SlowDown = 1
			case InternalError:
				want.InternalError = 1
			case ResetRequest:
				want.ResetRequest = 1
			case ResetResponse:
				want.ResetResponse = 1
			}
			if d != want {
				t.Fatalf("stats %v, want %v", d, want)
			}
		})
	}
}

func TestLatencyAndMatch(t *testing.T) {
	up, _ := upstream(t)
	onlyPUT := func(r *http.Request) bool { return r.Method == http.MethodPut }
	p := start(t, up.URL, Config{Rules: []Rule{{Match: onlyPUT, Latency: 150 * time.Millisecond}}})
	c := client()

	resp, err := c.Get(p.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := p.Stats(); s.Delayed != 0 {
		t.Fatalf("a GET was delayed by a PUT-only rule: %v", s)
	}
	req, _ := http.NewRequest(http.MethodPut, p.URL+"/x", strings.NewReader("data"))
	start := time.Now()
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A lower bound only: the delay is a sleep, not a race.
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("PUT took %v, less than the 150ms latency", took)
	}
	if s := p.Stats(); s.Delayed != 1 || s.Faulted() != 0 {
		t.Fatalf("stats %v, want one delayed request and no faults", s)
	}
}

func TestHostForwardedUnchanged(t *testing.T) {
	up, _ := upstream(t)
	p := start(t, up.URL, Config{})
	resp, err := client().Get(p.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("X-Host-Seen"), p.Addr; got != want {
		t.Fatalf("upstream saw Host %q, want the proxy's %q as the client sent it", got, want)
	}
}

// TestDraws checks that draws depend only on seed, method, path and the
// attempt number, that shares are honoured, and MaxConsecutive.
func TestDraws(t *testing.T) {
	rule := Rule{SlowDown: 0.3, ResetRequest: 0.1}
	decisions := func(seed uint64, order []string) map[string][]Fault {
		p := &Proxy{attempts: map[string]uint64{}, streak: map[string]int{}}
		p.cfg.Store(&Config{Seed: seed, Rules: []Rule{rule}})
		out := map[string][]Fault{}
		for _, path := range order {
			_, f := p.decide(httptest.NewRequest(http.MethodGet, path, nil))
			out[path] = append(out[path], f)
		}
		return out
	}
	var ab, ba []string
	for i := 0; i < 500; i++ {
		ab = append(ab, "/a", "/b")
		ba = append(ba, "/b", "/a")
	}
	x, y := decisions(7, ab), decisions(7, ba)
	for _, k := range []string{"/a", "/b"} {
		for i := range x[k] {
			if x[k][i] != y[k][i] {
				t.Fatalf("%s attempt %d: %v in one order, %v in the other", k, i, x[k][i], y[k][i])
			}
		}
	}
	z := decisions(8, ab)
	same := true
	for i := range x["/a"] {
		same = same && x["/a"][i] == z["/a"][i]
	}
	if same {
		t.Fatal("seeds 7 and 8 drew the same sequence")
	}
	count := map[Fault]int{}
	for _, f := range append(x["/a"], x["/b"]...) {
		count[f]++
	}
	// 1000 draws: the shares within a wide margin.
	if count[SlowDown] < 240 || count[SlowDown] > 360 || count[ResetRequest] < 60 || count[ResetRequest] > 140 || count[InternalError]+count[ResetResponse] != 0 {
		t.Fatalf("draws %v, want about 300 SlowDown and 100 ResetRequest of 1000", count)
	}

	rule = Rule{SlowDown: 1, MaxConsecutive: 2}
	got := decisions(1, []string{"/a", "/a", "/a", "/a", "/a", "/a"})["/a"]
	want := []Fault{SlowDown, SlowDown, None, SlowDown, SlowDown, None}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("with MaxConsecutive 2: %v, want %v", got, want)
		}
	}
}

func TestConfigChecked(t *testing.T) {
	for _, cfg := range []Config{
		{Rules: []Rule{{SlowDown: 0.7, ResetResponse: 0.5}}},
		{Rules: []Rule{{SlowDown: -0.1}}},
		{Rules: []Rule{{Latency: -time.Second}}},
	} {
		if _, err := Start("http://127.0.0.1:1", cfg); err == nil {
			t.Errorf("Start accepted %+v", cfg.Rules)
		}
	}
	if _, err := Start("https://example.com", Config{}); err == nil {
		t.Error("Start accepted an https target")
	}
}

// TestSigV4 runs a signed S3 client through the proxy to versitygw: the
// signature covers the Host header, and the proxy keeps it, so requests
// verify. A proxy that lets the Host header become the server's (what
// httputil's SetURL alone does) is refused, which shows the server checks
// the Host it receives.
func TestSigV4(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "sigv4")
	p := start(t, srv.Endpoint, Config{})
	ctx := context.Background()
	data := []byte("signed through the proxy")
	sum := sha256.Sum256(data)

	st := newStore(t, srv, p.URL)
	obj, err := st.Put(ctx, "k", bytes.NewReader(data), int64(len(data)), sum)
	if err != nil {
		t.Fatalf("put through the proxy: %v", err)
	}
	rc, _, err := st.Get(ctx, "k", obj.VersionID)
	if err != nil {
		t.Fatalf("get through the proxy: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get through the proxy: %q, %v", got, err)
	}
	if s := p.Stats(); s.Forwarded < 2 {
		t.Fatalf("stats %v: the requests did not go through the proxy", s)
	}

	target, _ := url.Parse(srv.Endpoint)
	rewriting := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }})
	defer rewriting.Close()
	bad := newStore(t, srv, rewriting.URL, func(c *bucket.Config) { c.MaxAttempts = 1 })
	_, err = bad.Put(ctx, "k", bytes.NewReader(data), int64(len(data)), sum)
	if bucket.Classify(err) != bucket.AccessDenied || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("put through a Host-rewriting proxy: %v (kind %v), want SignatureDoesNotMatch", err, bucket.Classify(err))
	}
}

func newStore(t *testing.T, srv *s3test.Server, endpoint string, mods ...func(*bucket.Config)) *bucket.S3 {
	t.Helper()
	c := bucket.Config{Bucket: "sigv4", Region: srv.Region, Endpoint: endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	for _, m := range mods {
		m(&c)
	}
	st, err := bucket.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestHold stops a matched request in Hold until it returns, before it
// reaches the server; other requests pass meanwhile.
func TestHold(t *testing.T) {
	up, hits := upstream(t)
	held, release := make(chan string, 1), make(chan struct{})
	p := start(t, up.URL, Config{Rules: []Rule{{
		Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/held") },
		Hold:  func(r *http.Request) { held <- r.URL.Path; <-release },
	}}})
	c := client()
	done := make(chan error, 1)
	go func() {
		resp, err := c.Get(p.URL + "/bucket/held")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if path := <-held; path != "/bucket/held" {
		t.Fatalf("held %q", path)
	}
	resp, err := c.Get(p.URL + "/bucket/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Fatalf("while one request is held, the server saw %d requests, want 1 (the other)", n)
	}
	select {
	case err := <-done:
		t.Fatalf("the held request ended before its release: %v", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("after the release the server saw %d requests, want 2", n)
	}
}

// TestInFlight counts requests held at once, and counts each out before
// its client can have the whole answer: a client that sends one request
// after another is never seen twice in flight, whatever the answer was and
// whichever connection the next request takes.
func TestInFlight(t *testing.T) {
	up, _ := upstream(t)
	held, release := make(chan struct{}, 2), make(chan struct{})
	p := start(t, up.URL, Config{Rules: []Rule{
		{Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/held") },
			Hold: func(*http.Request) { held <- struct{}{}; <-release }},
		{Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/slow") }, SlowDown: 1},
		{Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/cut") }, ResetResponse: 1},
	}})
	keepAlive := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	t.Cleanup(keepAlive.CloseIdleConnections)

	errs := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := client().Get(p.URL + "/bucket/held")
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	<-held
	<-held
	if n, m := p.InFlight(), p.MaxInFlight(); n != 2 || m != 2 {
		t.Fatalf("two requests held: in flight %d, at most %d; want 2 and 2", n, m)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := p.InFlight(); n != 0 {
		t.Fatalf("both answered and read: %d still in flight", n)
	}

	p.ResetMaxInFlight()
	for _, c := range []*http.Client{keepAlive, client()} {
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/bucket/key"}, {http.MethodHead, "/bucket/key"}, {http.MethodPut, "/bucket/key"},
			{http.MethodGet, "/bucket/slow"}, {http.MethodGet, "/bucket/cut"}, {http.MethodGet, "/bucket/key"},
		} {
			r, _ := http.NewRequest(req.method, p.URL+req.path, bytes.NewReader(make([]byte, 1024)))
			resp, err := c.Do(r)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if n := p.InFlight(); n != 0 {
				t.Errorf("%s %s answered: %d still in flight", req.method, req.path, n)
			}
		}
	}
	if m := p.MaxInFlight(); m != 1 {
		t.Errorf("one request after another: at most %d in flight, want 1", m)
	}
}
