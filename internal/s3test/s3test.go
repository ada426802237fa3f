// Package s3test starts a real S3-compatible server (versitygw with its posix
// backend) for tests. Nothing is mocked: requests are SigV4-signed, checksums
// are checked by the server and bucket versioning keeps every version.
//
// versitygw must be installed:
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// Start looks for it in PATH, then in $(go env GOPATH)/bin. When it is
// missing the test is skipped, or fails when the environment variable CI is
// "true", so that CI never silently skips the S3 tests.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"
)

// InstallHint says how to install the server binary.
const InstallHint = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Region is the region the server is started with.
const Region = "us-east-1"

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is a running versitygw instance. It is stopped, and its data
// removed, when the test that started it ends.
type Server struct {
	// Endpoint is the base URL, e.g. "http://127.0.0.1:41234".
	Endpoint string
	// Addr is the host:port the server listens on.
	Addr string
	// AccessKey and SecretKey are the root account's credentials, random
	// for each server.
	AccessKey, SecretKey string
	// Region is the signing region ("us-east-1").
	Region string
	// Dir is the posix backend's root directory (one subdirectory per bucket).
	Dir string

	log *syncBuffer
}

// Start starts versitygw on a free 127.0.0.1 port in a fresh temporary
// directory, with versioning support, and waits until it answers HTTP.
// The server is stopped via t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBinary()
	if err != nil {
		msg := fmt.Sprintf("s3test: versitygw not found (%v); install it with: %s", err, InstallHint)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	base := t.TempDir()
	root := filepath.Join(base, "root")
	versions := filepath.Join(base, "versions")
	for _, d := range []string{root, versions} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("s3test: %v", err)
		}
	}

	s := &Server{
		AccessKey: "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		SecretKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		Region:    Region,
		Dir:       root,
	}

	// A free port is picked by binding :0 and releasing it; another process
	// may grab it in between, so a server that exits early is retried.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("s3test: find a free port: %v", err)
		}
		s.Addr = addr
		s.Endpoint = "http://" + addr
		s.log = &syncBuffer{}
		lastErr = s.run(t, bin, root, versions)
		if lastErr == nil {
			return s
		}
	}
	t.Fatalf("s3test: start versitygw: %v", lastErr)
	return nil
}

// run starts the process and waits until it answers. On success the process
// is registered for stopping with t.Cleanup.
func (s *Server) run(t testing.TB, bin, root, versions string) error {
	cmd := exec.Command(bin,
		"--port", s.Addr,
		"--region", s.Region,
		"--quiet",
		"posix",
		"--versioning-dir", versions,
		root,
	)
	// Credentials go through the environment, not argv (visible in ps).
	cmd.Env = append(filteredEnviron(),
		"ROOT_ACCESS_KEY_ID="+s.AccessKey,
		"ROOT_SECRET_ACCESS_KEY="+s.SecretKey,
	)
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	if err := s.waitReady(exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w; output:\n%s", err, s.log.String())
	}

	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("s3test: versitygw output:\n%s", s.log.String())
		}
	})
	return nil
}

// waitReady polls the endpoint until it answers any HTTP response.
func (s *Server) waitReady(exited <-chan error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering on %s after %v: %v", s.Endpoint, startTimeout, err)
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before answering: %v", err)
		case <-tick.C:
		}
	}
}

// Client returns an S3 client for the server's root account, with
// path-style addressing.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		Logger:       logging.Nop{},
		// The SDK's defaults, stated: versitygw handles both.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// CreateBucket creates a bucket with versioning enabled.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %q: %v", name, err)
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket: aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{
			Status: types.BucketVersioningStatusEnabled,
		},
	})
	if err != nil {
		t.Fatalf("s3test: enable versioning on bucket %q: %v", name, err)
	}
}

// Env returns AWS_* variables ("KEY=value") that point the aws CLI, or a
// binary using the SDK's default chain, at this server's root account.
// Append them after os.Environ() so that they win. The endpoint itself is
// not among them: pass Endpoint explicitly (--endpoint-url, --s3-endpoint).
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + s.Region,
		"AWS_DEFAULT_REGION=" + s.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		// aws CLI v2: no pager, no prompts, plain output.
		"AWS_PAGER=",
		"AWS_CLI_AUTO_PROMPT=off",
		"AWS_DEFAULT_OUTPUT=json",
	}
}

func findBinary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", errors.New("not in PATH, and go env GOPATH failed")
	}
	gopath := strings.TrimSpace(string(out))
	if i := strings.IndexRune(gopath, os.PathListSeparator); i >= 0 {
		gopath = gopath[:i]
	}
	if gopath == "" {
		return "", errors.New("not in PATH, and GOPATH is empty")
	}
	p := filepath.Join(gopath, "bin", "versitygw")
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return "", fmt.Errorf("not in PATH nor at %s", p)
	}
	return p, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// filteredEnviron drops variables that would reconfigure versitygw.
func filteredEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
