//go:build faults

package faults

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// Action is what a point does when it is reached.
type Action string

// The actions.
const (
	// Fail makes Point return an *Error.
	Fail Action = "fail"
	// Kill kills the process at once.
	Kill Action = "kill"
)

var (
	mu  sync.Mutex
	set = map[string]Action{}
)

// Set makes the point name do action in this process until restore is
// called; it wins over the environment.
func Set(name string, action Action) (restore func()) {
	mu.Lock()
	defer mu.Unlock()
	old, had := set[name]
	set[name] = action
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if had {
			set[name] = old
		} else {
			delete(set, name)
		}
	}
}

// Point fails or kills the process when asked to, by Set or by EnvVar.
func Point(name string) error {
	switch action(name) {
	case "":
		return nil
	case Fail:
		return &Error{Point: name}
	case Kill:
		kill()
		select {} // the signal is on its way
	default:
		panic(fmt.Sprintf("faults: point %s: unknown action %q (want fail or kill)", name, action(name)))
	}
}

func action(name string) Action {
	mu.Lock()
	a, ok := set[name]
	mu.Unlock()
	if ok {
		return a
	}
	for _, pair := range strings.Split(os.Getenv(EnvVar), ",") {
		if n, a, _ := strings.Cut(strings.TrimSpace(pair), "="); n == name {
			return Action(a)
		}
	}
	return ""
}

// kill ends the process without running deferred functions or flushing
// anything, as SIGKILL does.
func kill() {
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Kill()
	}
	if err != nil {
		panic("faults: cannot kill the process: " + err.Error())
	}
}
