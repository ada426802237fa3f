package problem

import "fmt"

// UsageError is a bad option or configuration, found before anything was
// read or written: exit status 2. Every command, install included, reports
// one with this type.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}
