package bucket

import "net/http"

// SetObserver makes the store call f with every HTTP request it sends
// (after signing), so tests can check headers against a real server.
func SetObserver(c *Config, f func(*http.Request)) { c.observe = f }
