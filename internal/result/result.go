// Package result is what a run of clawdinator-bundle returns: for every
// instance, each object with its status and whether it was proven, the
// findings, and an operational failure if the run could not complete.
// Every presenter (text, JSON, the Action's summary) and the exit status
// read success from one place: Result.OK.
package result

import (
	"fmt"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// Mode is what a run did.
type Mode string

// The modes.
const (
	Publish  Mode = "publish"
	Verify   Mode = "verify"
	Assemble Mode = "assemble"
	// Plan lists the instances a run would process; it reads no bundle.
	Plan Mode = "plan"
)

// Status is what happened to one object.
type Status string

// The statuses of an object.
const (
	// Built: assembled in memory, written nowhere (assemble without --out).
	Built Status = "built"
	// Written: written to an assemble --out directory.
	Written Status = "written"
	// Uploaded: uploaded (or copied server-side) by this run.
	Uploaded Status = "uploaded"
	// Unchanged: already in place with the same bytes; not uploaded again.
	Unchanged Status = "unchanged"
	// Checked: read from the bucket as it is now (verify).
	Checked Status = "checked"
	// Missing: not in the bucket.
	Missing Status = "missing"
	// Failed: the upload failed.
	Failed Status = "failed"
	// RolledBack: uploaded, then removed because the run failed before the
	// instance's manifest.
	RolledBack Status = "rolled back"
)

// Wrote reports whether this run put bytes at the object's key (that a
// rollback may have to remove).
func (s Status) Wrote() bool { return s == Uploaded || s == Written || s == Failed }

// Object is one object of one instance after a run: the object as a
// manifest names it, and what the run did with it. A result says an
// object was left in place with Status Unchanged and leaves
// manifest.Object's Unchanged false (it is the manifest's way to say it),
// so that the JSON of a result is the manifest's fields, then status and
// verified.
type Object struct {
	manifest.Object
	Status   Status `json:"status"`
	Verified bool   `json:"verified"`
	// Before is the version that was current at Key before this run wrote
	// (publish): a rollback stops there.
	Before string `json:"-"`
}

// Manifested returns the object as the manifest records it.
func (o Object) Manifested() manifest.Object {
	mo := o.Object
	mo.Unchanged = o.Status == Unchanged
	return mo
}

// Instance is what happened to one instance.
type Instance struct {
	Instance string              `json:"instance"`
	Prefix   string              `json:"prefix"`
	Objects  []Object            `json:"objects"`
	Secrets  []bundle.SecretInfo `json:"secrets"`
	// Manifest is the manifest written (publish) or read (verify), if any.
	Manifest *manifest.Manifest `json:"manifest,omitempty"`
	Verified bool               `json:"verified"`
	// Err is an operational failure (S3 unreachable, denied): exit status 3.
	Err error `json:"-"`
}

// Result is the outcome of a run, for every instance processed.
type Result struct {
	Mode Mode `json:"mode"`
	// Recipient is the recipient of the key: the one publish and assemble
	// held, or the keys verify found inside the bundles.
	Recipient string `json:"recipient,omitempty"`
	// Unpinned: verify ran without a pin (expected-recipient none), so no
	// bundled key was held to the fleet's; Recipient is then only what the
	// bundles hold.
	Unpinned  bool       `json:"unpinned,omitempty"`
	Instances []Instance `json:"instances"`
	// Planned holds the instances a plan run selected, in name order; it
	// is empty in every other mode (and left out of their JSON), and when
	// the plan found an error.
	Planned []Planned `json:"planned,omitempty"`
	// Problems holds every finding, warnings included.
	Problems problem.List `json:"-"`
	// Failure is why the run could not complete, when it could not (S3
	// unreachable, access denied, disk full): exit status 3.
	Failure error `json:"-"`
}

// Planned is one instance a plan run selected, as the instances file
// describes it.
type Planned struct {
	Instance           string `json:"instance"`
	Prefix             string `json:"prefix"`
	DiscordTokenSecret string `json:"discordTokenSecret"`
}

// Err returns the run's operational failure: Failure, or else the first
// instance's.
func (r *Result) Err() error {
	if r.Failure != nil {
		return r.Failure
	}
	for _, in := range r.Instances {
		if in.Err != nil {
			return fmt.Errorf("instance %s: %w", in.Instance, in.Err)
		}
	}
	return nil
}

// OK reports whether the run did all it set out to do: it completed, found
// no error-severity problem, and proved every instance it processed.
func (r *Result) OK() bool {
	if r.Err() != nil || r.Problems.HasErrors() {
		return false
	}
	for _, in := range r.Instances {
		if !in.Verified {
			return false
		}
	}
	return true
}

// Manifests returns the manifests written or read, in instance order.
func (r *Result) Manifests() []*manifest.Manifest {
	out := []*manifest.Manifest{}
	for _, in := range r.Instances {
		if in.Manifest != nil {
			out = append(out, in.Manifest)
		}
	}
	return out
}

// Names returns the names of the instances the run processed, in order: in
// plan, those it selected.
func (r *Result) Names() []string {
	out := []string{}
	for _, in := range r.Instances {
		out = append(out, in.Instance)
	}
	for _, p := range r.Planned {
		out = append(out, p.Instance)
	}
	return out
}

// Uploaded reports whether this run uploaded a bundle object that is still
// in place (not rolled back): what a host downloads changed. manifest.json,
// which publish writes on every success, is not a bundle object.
func (r *Result) Uploaded() bool {
	for _, in := range r.Instances {
		for _, o := range in.Objects {
			if o.Status == Uploaded {
				return true
			}
		}
	}
	return false
}

// Proven returns how many instances the run proved.
func (r *Result) Proven() int {
	n := 0
	for _, in := range r.Instances {
		if in.Verified {
			n++
		}
	}
	return n
}
