package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// TestMain lets scripts run the command as "clawdinator-bundle": the test
// binary, copied into $PATH, runs main's body when invoked under that name.
func TestMain(m *testing.M) {
	testscript.Main(cleanupM{m}, map[string]func(){
		"clawdinator-bundle": func() { os.Exit(mainCode()) },
	})
}

// mainCode is main without os.Exit: run's exit status.
func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.Getenv)
}

// cleanupM removes what the tests built once per binary (see action_test.go)
// after every test ran; testscript.Main exits the process itself.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	code := c.m.Run()
	removeBuiltBinary()
	removeOldTool()
	return code
}

// scriptCmds are the commands scripts use besides the built binary.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"sample":     cmdSample,
	"exitcode":   cmdExitcode,
	"json":       cmdJSON,
	"closedport": cmdClosedPort,
	"emptydir":   cmdEmptyDir,
	"oldtool":    cmdOldTool,
}

// scriptEnv is what every script runs with: no instance metadata lookups,
// no progress lines in stderr.
func scriptEnv(env *testscript.Env) {
	env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env.Setenv("CLAWDINATOR_PROGRESS", "0")
}

// TestScript runs testdata/script/*.txtar, one behaviour of the CLI each,
// that needs no S3 server: these run everywhere and never skip.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                "testdata/script",
		RequireUniqueNames: true,
		Setup: func(env *testscript.Env) error {
			scriptEnv(env)
			// A name only: nothing in these scripts reaches a bucket.
			env.Setenv("BUCKET", "no-bucket-is-contacted")
			env.Setenv("AWS_REGION", "us-east-1")
			return nil
		},
		Cmds: scriptCmds,
	})
}

// TestScriptS3 runs testdata/s3script/*.txtar against versitygw. One server
// serves every script; each script gets its own bucket.
func TestScriptS3(t *testing.T) {
	srv := s3test.Start(t)
	testscript.Run(t, testscript.Params{
		Dir:                "testdata/s3script",
		RequireUniqueNames: true,
		Setup: func(env *testscript.Env) error {
			bucket, err := newBucket(srv)
			if err != nil {
				return err
			}
			scriptEnv(env)
			env.Setenv("ENDPOINT", srv.Endpoint)
			env.Setenv("BUCKET", bucket)
			env.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
			env.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
			env.Setenv("AWS_REGION", srv.Region)
			return nil
		},
		Cmds:      scriptCmds,
		Condition: oldToolCondition,
	})
}

// newBucket creates a fresh versioned bucket. It does not use
// srv.CreateBucket: Setup runs on a script's goroutine, not the test's.
func newBucket(srv *s3test.Server) (string, error) {
	var b [6]byte
	rand.Read(b[:])
	name := "script-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := srv.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return "", fmt.Errorf("create bucket %s: %w", name, err)
	}
	_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		return "", fmt.Errorf("enable versioning on %s: %w", name, err)
	}
	return name, nil
}

// sample DIR writes the sample workload (key, secrets, instances.json,
// repo-seeds) under DIR and sets $RECIPIENT to the key's recipient.
func cmdSample(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sample DIR")
	}
	fx, err := sample.Write(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Setenv("RECIPIENT", fx.Recipient)
}

// exitcode [-max=DURATION] N CMD [ARGS...] runs CMD and requires exit
// status N. stdout and stderr are kept for the next stdout/stderr
// assertions, as with exec. -max bounds how long CMD may take: a generous
// guard against waiting out a long timeout, not a benchmark.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	var max time.Duration
	if len(args) > 0 && strings.HasPrefix(args[0], "-max=") {
		d, err := time.ParseDuration(strings.TrimPrefix(args[0], "-max="))
		ts.Check(err)
		max, args = d, args[1:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode [-max=DURATION] N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	start := time.Now()
	err = ts.Exec(args[1], args[2:]...)
	took := time.Since(start)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
	if max > 0 && took > max {
		ts.Fatalf("%s took %v, more than %v", args[1], took.Round(time.Millisecond), max)
	}
}

// json stdout|FILE PATH VALUE checks one value of a JSON document. PATH is
// dot-separated object keys and array indexes; "@len" is the length of
// the array or object. VALUE is compared with the JSON text of the value
// (strings without quotes).
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: json stdout|FILE PATH VALUE")
	}
	var data string
	if args[0] == "stdout" {
		data = ts.ReadFile("stdout")
	} else {
		data = ts.ReadFile(args[0])
	}
	var v any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		ts.Fatalf("%s is not JSON: %v", args[0], err)
	}
	for _, step := range strings.Split(args[1], ".") {
		switch x := v.(type) {
		case map[string]any:
			if step == "@len" {
				v = float64(len(x))
				continue
			}
			e, ok := x[step]
			if !ok {
				ts.Fatalf("%s: no key %q in %s", args[0], step, args[1])
			}
			v = e
		case []any:
			if step == "@len" {
				v = float64(len(x))
				continue
			}
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("%s: no index %q in %s (length %d)", args[0], step, args[1], len(x))
			}
			v = x[i]
		default:
			ts.Fatalf("%s: %s: cannot index %T with %q", args[0], args[1], v, step)
		}
	}
	got := fmt.Sprint(v)
	if b, err := json.Marshal(v); err == nil {
		if _, isString := v.(string); !isString {
			got = string(b)
		}
	}
	if (got == args[2]) == neg {
		if neg {
			ts.Fatalf("%s: %s is %s", args[0], args[1], got)
		}
		ts.Fatalf("%s: %s is %s, want %s", args[0], args[1], got, args[2])
	}
}

// closedport VAR sets VAR to an http:// URL on 127.0.0.1 where nothing
// listens: connections are refused.
func cmdClosedPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: closedport VAR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := l.Addr().String()
	ts.Check(l.Close())
	ts.Setenv(args[0], "http://"+addr)
}

// emptydir DIR passes when DIR does not exist or holds nothing.
func cmdEmptyDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: emptydir DIR")
	}
	entries, err := os.ReadDir(ts.MkAbs(args[0]))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		ts.Fatalf("%v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if (len(names) == 0) == neg {
		if neg {
			ts.Fatalf("%s is empty", args[0])
		}
		ts.Fatalf("%s is not empty: %s", args[0], strings.Join(names, ", "))
	}
}
