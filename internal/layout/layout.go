// Package layout names what a bucket holds for one instance: three objects
// under the instance's bootstrap prefix, and their keys. This is the
// bucket side of the host contract (docs/bundle.md); the entries inside
// the two archives are internal/bundle's.
//
// It imports nothing of this module, so that the store (internal/bucket),
// the offline steps (internal/gate) and the proofs (internal/proof) name
// objects the same way without linking each other: the store needs the
// names, not the archive code, and the offline steps need neither the
// store nor its SDK.
package layout

import "path"

// The objects of one instance, by name under its bootstrap prefix.
const (
	// SecretsObject holds the age identity in the clear, the statement
	// and the instance's encrypted secrets: a file of it is readable by
	// its owner only.
	SecretsObject = "secrets.tar.zst"
	// SeedsObject holds the repo-seeds tree, the same for every instance.
	SeedsObject = "repo-seeds.tar.zst"
	// ManifestName is the index publish writes last (internal/manifest).
	ManifestName = "manifest.json"
)

// Key is the bucket key of the object name under prefix.
func Key(prefix, name string) string { return path.Join(prefix, name) }
