// Command registry serves an OCI distribution registry on 127.0.0.1 for
// scripts/release/rehearse.sh: the rehearsal pushes the two-platform index
// here instead of ghcr.io. Blobs live in memory and go when it exits.
// internal/containertest's TestReleaseRehearsal serves it too, and reads
// back what was pushed with export.
//
//	registry -addr-file FILE   # listens on 127.0.0.1:<free port>, writes HOST:PORT to FILE
//	registry export -out DIR [-tag TAG] HOST:PORT/REPO@sha256:…
//
// It is a module of its own, so that go-containerregistry is not a
// dependency of clawdinator-bundle's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "export" {
		fs := flag.NewFlagSet("registry export", flag.ExitOnError)
		out := fs.String("out", "", "directory to write index.json and the images' filesystems to")
		tag := fs.String("tag", "", "also resolve this tag of the repository")
		fs.Parse(os.Args[2:])
		if *out == "" || fs.NArg() != 1 {
			fmt.Fprintln(os.Stderr, "usage: registry export -out DIR [-tag TAG] HOST:PORT/REPO@sha256:…")
			os.Exit(2)
		}
		if err := export(fs.Arg(0), *tag, *out); err != nil {
			fmt.Fprintf(os.Stderr, "registry: error: %v\n", err)
			os.Exit(1)
		}
		return
	}
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (loopback only)")
	addrFile := flag.String("addr-file", "", "write the address listened on to this file once serving")
	flag.Parse()
	if err := serve(*addr, *addrFile); err != nil {
		fmt.Fprintf(os.Stderr, "registry: error: %v\n", err)
		os.Exit(1)
	}
}

// loopback refuses an address that is not a loopback IP: the registry
// takes pushes without authentication.
func loopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	return nil
}

func serve(addr, addrFile string) error {
	if err := loopback(addr); err != nil {
		return err
	}
	// Before the address is announced: whoever reads it may signal at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if addrFile != "" {
		// Written after Listen: whoever reads it can connect at once.
		// Renamed into place: a reader never sees half an address.
		tmp := addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			srv.Close()
			return err
		}
		if err := os.Rename(tmp, addrFile); err != nil {
			srv.Close()
			return err
		}
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if err := srv.Shutdown(context.Background()); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
