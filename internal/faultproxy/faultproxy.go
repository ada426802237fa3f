// Package faultproxy is an HTTP reverse proxy for tests that stands in
// front of an S3-compatible server and makes it misbehave on purpose:
// throttling (503 SlowDown), server errors (500 InternalError), connections
// reset while the request is read or halfway through the response, and
// added latency.
//
// # Choosing which requests fail
//
// A Config holds Rules; the first rule whose Match accepts a request decides
// what happens to it. A rule gives each fault a share of the requests it
// matches. The draw is deterministic: it depends only on the seed, the
// request's method and path and how many requests with that method and path
// came before it, so a retry of the same request draws again and the
// outcome does not depend on how concurrent requests interleave. A rule's
// MaxConsecutive bounds how many attempts in a row at one method and path
// are faulted, so that a client with enough retries always gets through.
// The configuration can be replaced at any time with Set.
//
// # Requests in flight
//
// The proxy counts the requests it holds (InFlight, and the most at once,
// MaxInFlight): from when it has read a request's headers until just
// before the client can have all of the answer. The count is down before
// the last byte of a response with a known length is written, so a client
// that sends its requests one after another is never counted twice, on
// one connection or several.
//
// # Signatures
//
// S3 clients sign the Host header (SigV4) with the proxy's host:port. The
// proxy forwards the Host header exactly as the client sent it, so the
// server checks the signature against what the client signed.
package faultproxy

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does to one request.
type Fault int

const (
	// None forwards the request untouched.
	None Fault = iota
	// SlowDown answers 503 with an S3 SlowDown error; the server never sees
	// the request.
	SlowDown
	// InternalError answers 500 with an S3 InternalError error; the server
	// never sees the request.
	InternalError
	// ResetRequest resets the connection after reading half of the request
	// body (at once when there is none); the server never sees the request.
	ResetRequest
	// ResetResponse forwards the request, then resets the connection after
	// writing the response's headers and half of its body, or before
	// anything when the response has no body: the server did the work but
	// the client cannot know.
	ResetResponse
)

// String returns the fault's name.
func (f Fault) String() string {
	switch f {
	case None:
		return "none"
	case SlowDown:
		return "SlowDown"
	case InternalError:
		return "InternalError"
	case ResetRequest:
		return "ResetRequest"
	case ResetResponse:
		return "ResetResponse"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// Rule says what happens to the requests it matches.
type Rule struct {
	// Match selects requests; nil matches every request.
	Match func(*http.Request) bool
	// SlowDown, InternalError, ResetRequest and ResetResponse are the
	// shares (0 to 1) of matched requests that get each fault. Their sum
	// must not exceed 1.
	SlowDown, InternalError, ResetRequest, ResetResponse float64
	// Latency delays every matched request, faulted or not, before
	// anything else happens to it.
	Latency time.Duration
	// Hold, when set, is called with every matched request before
	// anything else happens to it, and the request waits until it
	// returns: a test stops a client at a chosen request this way.
	Hold func(*http.Request)
	// MaxConsecutive, when positive, is the most attempts in a row at one
	// method and path that are faulted; the next one is forwarded.
	MaxConsecutive int
}

// Config is the proxy's behaviour. The zero Config forwards everything.
type Config struct {
	// Seed selects the sequence of draws.
	Seed uint64
	// Rules are tried in order; a request no rule matches is forwarded.
	Rules []Rule
}

// Always returns a rule that gives every matched request fault f.
func Always(f Fault, match func(*http.Request) bool) Rule {
	r := Rule{Match: match}
	switch f {
	case SlowDown:
		r.SlowDown = 1
	case InternalError:
		r.InternalError = 1
	case ResetRequest:
		r.ResetRequest = 1
	case ResetResponse:
		r.ResetResponse = 1
	}
	return r
}

// Stats counts what the proxy did. Requests = Forwarded + the requests
// answered or reset by the proxy itself (SlowDown, InternalError,
// ResetRequest) + those still in flight; ResetResponse requests are also
// Forwarded.
type Stats struct {
	Requests      int64 // requests seen
	Forwarded     int64 // requests that reached the server
	Delayed       int64 // requests given added latency
	SlowDown      int64
	InternalError int64
	ResetRequest  int64
	ResetResponse int64
}

// Faulted returns how many requests got a fault.
func (s Stats) Faulted() int64 {
	return s.SlowDown + s.InternalError + s.ResetRequest + s.ResetResponse
}

// Sub returns s minus earlier, field by field: what happened in between.
func (s Stats) Sub(earlier Stats) Stats {
	return Stats{
		Requests:      s.Requests - earlier.Requests,
		Forwarded:     s.Forwarded - earlier.Forwarded,
		Delayed:       s.Delayed - earlier.Delayed,
		SlowDown:      s.SlowDown - earlier.SlowDown,
		InternalError: s.InternalError - earlier.InternalError,
		ResetRequest:  s.ResetRequest - earlier.ResetRequest,
		ResetResponse: s.ResetResponse - earlier.ResetResponse,
	}
}

// String renders the counters on one line.
func (s Stats) String() string {
	return fmt.Sprintf("requests=%d forwarded=%d delayed=%d faulted=%d (SlowDown=%d InternalError=%d ResetRequest=%d ResetResponse=%d)",
		s.Requests, s.Forwarded, s.Delayed, s.Faulted(), s.SlowDown, s.InternalError, s.ResetRequest, s.ResetResponse)
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's base URL ("http://127.0.0.1:port"): give it to the
	// client as its endpoint.
	URL string
	// Addr is the host:port the proxy listens on.
	Addr string

	target    *url.URL
	cfg       atomic.Pointer[Config]
	rp        *httputil.ReverseProxy
	transport *http.Transport
	srv       *http.Server
	done      chan struct{}

	mu       sync.Mutex
	attempts map[string]uint64 // requests seen per method and path
	streak   map[string]int    // faulted attempts in a row per method and path

	requests, forwarded, delayed                     atomic.Int64
	slowDown, internalError, resetReq, resetResponse atomic.Int64
	inFlight, maxInFlight                            atomic.Int64
}

// answeredKey carries, in a forwarded request's context, the function that
// takes the request out of the in-flight count.
type answeredKey struct{}

// Start starts a proxy on a free 127.0.0.1 port in front of target (an
// http:// base URL), with cfg in effect.
func Start(target string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q: want an http:// URL", target)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		URL:      "http://" + ln.Addr().String(),
		Addr:     ln.Addr().String(),
		target:   u,
		done:     make(chan struct{}),
		attempts: map[string]uint64{},
		streak:   map[string]int{},
		transport: &http.Transport{
			// Bytes pass through as they are; no proxy from the environment.
			DisableCompression:  true,
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
		},
	}
	p.cfg.Store(&cfg)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.target)
			// SetURL sets the outbound Host to the target's; the client
			// signed ours.
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: answerAtLastByte,
		Transport:      p.transport,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(p.done)
		p.srv.Serve(ln)
	}()
	return p, nil
}

func (c *Config) check() error {
	for i, r := range c.Rules {
		for _, s := range []float64{r.SlowDown, r.InternalError, r.ResetRequest, r.ResetResponse} {
			if s < 0 || s > 1 {
				return fmt.Errorf("faultproxy: rule %d: a share must be between 0 and 1", i)
			}
		}
		if sum := r.SlowDown + r.InternalError + r.ResetRequest + r.ResetResponse; sum > 1+1e-9 {
			return fmt.Errorf("faultproxy: rule %d: shares add up to %v, more than 1", i, sum)
		}
		if r.Latency < 0 || r.MaxConsecutive < 0 {
			return fmt.Errorf("faultproxy: rule %d: negative latency or max consecutive", i)
		}
	}
	return nil
}

// Set replaces the configuration; requests already being handled keep the
// one they started with.
func (p *Proxy) Set(cfg Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	p.cfg.Store(&cfg)
	return nil
}

// Off makes the proxy forward everything from now on.
func (p *Proxy) Off() { p.cfg.Store(&Config{}) }

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	return Stats{
		Requests:      p.requests.Load(),
		Forwarded:     p.forwarded.Load(),
		Delayed:       p.delayed.Load(),
		SlowDown:      p.slowDown.Load(),
		InternalError: p.internalError.Load(),
		ResetRequest:  p.resetReq.Load(),
		ResetResponse: p.resetResponse.Load(),
	}
}

// InFlight returns how many requests the proxy holds now.
func (p *Proxy) InFlight() int64 { return p.inFlight.Load() }

// MaxInFlight returns the most requests the proxy held at once since it
// started or since the last ResetMaxInFlight.
func (p *Proxy) MaxInFlight() int64 { return p.maxInFlight.Load() }

// ResetMaxInFlight starts a new measure of MaxInFlight from the requests in
// flight now.
func (p *Proxy) ResetMaxInFlight() { p.maxInFlight.Store(p.inFlight.Load()) }

// begin counts a request in flight and returns the function, safe to call
// more than once, that counts it out.
func (p *Proxy) begin() func() {
	n := p.inFlight.Add(1)
	for {
		m := p.maxInFlight.Load()
		if n <= m || p.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return sync.OnceFunc(func() { p.inFlight.Add(-1) })
}

// answerAtLastByte counts a forwarded request out when the client can next
// have all of its answer: at once when the answer has no body, else just
// before the body's last byte is handed on. An answer of unknown length is
// counted out when the handler returns.
func answerAtLastByte(resp *http.Response) error {
	done, _ := resp.Request.Context().Value(answeredKey{}).(func())
	switch {
	case done == nil:
	case resp.Request.Method == http.MethodHead || resp.ContentLength == 0:
		done()
	case resp.ContentLength > 0:
		resp.Body = &lastBytes{ReadCloser: resp.Body, left: resp.ContentLength, done: done}
	}
	return nil
}

// lastBytes calls done before it returns the last bytes of a body (or an
// error): the proxy writes them to the client only after that.
type lastBytes struct {
	io.ReadCloser
	left int64
	done func()
}

func (l *lastBytes) Read(b []byte) (int, error) {
	n, err := l.ReadCloser.Read(b)
	l.left -= int64(n)
	if l.left <= 0 || err != nil {
		l.done()
	}
	return n, err
}

// Close stops listening and closes every connection: from then on clients
// get connection refused.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	<-p.done
	p.transport.CloseIdleConnections()
	return err
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	answered := p.begin()
	defer answered()
	rule, fault := p.decide(r)
	if rule != nil && rule.Hold != nil {
		rule.Hold(r)
	}
	if rule != nil && rule.Latency > 0 {
		p.delayed.Add(1)
		t := time.NewTimer(rule.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch fault {
	case SlowDown:
		p.slowDown.Add(1)
		s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.", answered)
	case InternalError:
		p.internalError.Add(1)
		s3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.", answered)
	case ResetRequest:
		p.resetReq.Add(1)
		if r.ContentLength > 0 {
			io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		}
		answered()
		reset(w, nil)
	case ResetResponse:
		p.resetResponse.Add(1)
		p.forwarded.Add(1)
		p.resetResponseHalfway(w, r, answered)
	default:
		p.forwarded.Add(1)
		p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), answeredKey{}, answered)))
	}
}

// decide picks the rule and the fault for r and advances the draw.
func (p *Proxy) decide(r *http.Request) (*Rule, Fault) {
	cfg := p.cfg.Load()
	var rule *Rule
	for i := range cfg.Rules {
		if m := cfg.Rules[i].Match; m == nil || m(r) {
			rule = &cfg.Rules[i]
			break
		}
	}
	key := r.Method + " " + r.URL.Path
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.attempts[key]
	p.attempts[key] = n + 1
	if rule == nil {
		p.streak[key] = 0
		return nil, None
	}
	f := rule.pick(draw(cfg.Seed, key, n))
	if f != None && rule.MaxConsecutive > 0 && p.streak[key] >= rule.MaxConsecutive {
		f = None
	}
	if f == None {
		p.streak[key] = 0
	} else {
		p.streak[key]++
	}
	return rule, f
}

func (r *Rule) pick(u float64) Fault {
	for _, c := range []struct {
		share float64
		f     Fault
	}{{r.SlowDown, SlowDown}, {r.InternalError, InternalError}, {r.ResetRequest, ResetRequest}, {r.ResetResponse, ResetResponse}} {
		if u < c.share {
			return c.f
		}
		u -= c.share
	}
	return None
}

// draw returns a number in [0, 1) fixed by seed, key and n (splitmix64).
func draw(seed uint64, key string, n uint64) float64 {
	h := fnv.New64a()
	io.WriteString(h, key)
	x := seed ^ h.Sum64() ^ (n+1)*0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// s3Error answers as S3 does when it refuses a request. The request body is
// read first so that the client is not cut off while sending it; answered
// is called before the answer is written.
func s3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string, answered func()) {
	io.Copy(io.Discard, r.Body)
	answered()
	body := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>faultproxy</RequestId></Error>",
		code, msg, escapeXML(r.URL.Path))
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("x-amz-request-id", "faultproxy")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

func escapeXML(s string) string {
	var b []byte
	for _, c := range []byte(s) {
		switch c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// resetResponseHalfway forwards r, then writes the status, the headers
// (with the full Content-Length) and half of the body, and resets the
// connection. The response is buffered first: test objects are small.
// answered is called before anything reaches the client.
func (p *Proxy) resetResponseHalfway(w http.ResponseWriter, r *http.Request, answered func()) {
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, r)
	answered()
	body := rec.Body.Bytes()
	if r.Method == http.MethodHead || len(body) == 0 {
		reset(w, nil)
		return
	}
	reset(w, func(bw *bufio.Writer) {
		h := rec.Header().Clone()
		h.Del("Transfer-Encoding")
		h.Del("Connection")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		fmt.Fprintf(bw, "HTTP/1.1 %03d %s\r\n", rec.Code, http.StatusText(rec.Code))
		h.Write(bw)
		bw.WriteString("\r\n")
		bw.Write(body[:len(body)/2])
	})
}

// reset takes the connection over, writes what write writes, and closes it
// with a TCP RST (SO_LINGER 0), as a peer that crashed or a middlebox that
// gave up would.
func reset(w http.ResponseWriter, write func(*bufio.Writer)) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	if write != nil {
		write(brw.Writer)
		brw.Writer.Flush()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
