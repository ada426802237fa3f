package plan

// Forbidden returns the rule for secret names that the bundle of self must
// not hold, for bundle.VerifyOptions.Forbidden: the rule says why, or ""
// for a name that may ship. Forbidden are another instance's discord token
// (all is every instance of the file, selected or not), any other name
// that looks like a token, and a secret that an exclude glob matches. The
// instance's own token is never forbidden here; Build refuses a plan whose
// token is excluded.
func Forbidden(all []Instance, self Instance, exclude []string) func(string) string {
	return func(name string) string {
		for _, in := range all {
			if in.Name != self.Name && in.TokenFile() == name {
				return "it is the discord token of instance " + in.Name
			}
		}
		if name != self.TokenFile() {
			if matchGlob(TokenPattern, name) {
				return "it is another instance's discord token"
			}
			if g := matchingGlob(name, exclude); g != "" {
				return "it matches exclude-secrets " + g
			}
		}
		return ""
	}
}
