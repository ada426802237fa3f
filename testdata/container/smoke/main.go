// Command clawdinator-smoke proves a container build works here: it is built
// in the golang stand-in from the mounted module cache (it imports a module,
// so the build fails without it) and runs in the distroless stand-in.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

func main() {
	msg := []byte("hello from clawdinator-smoke")
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		fail(err)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		fail(err)
	}
	got, err := dec.DecodeAll(enc.EncodeAll(msg, nil), nil)
	if err != nil || !bytes.Equal(got, msg) {
		fail(fmt.Errorf("zstd round trip: %q, %v", got, err))
	}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err != nil {
		fail(err)
	}
	fmt.Printf("%s (%s, %s/%s, uid %d, args %q)\n", got, runtime.Version(), runtime.GOOS, runtime.GOARCH, os.Getuid(), os.Args[1:])
	if v := os.Getenv("INPUT_GREETING"); v != "" {
		fmt.Printf("greeting=%s\n", v)
		if f := os.Getenv("GITHUB_OUTPUT"); f != "" {
			out, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				fail(err)
			}
			fmt.Fprintf(out, "echo=%s\n", v)
			out.Close()
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "clawdinator-smoke:", err)
	os.Exit(1)
}
