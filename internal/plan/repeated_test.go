package plan

import "testing"

// repeatedField reports a field only when it is given more than once, as
// encoding/json matches fields (ignoring case); once is ("", 0).
func TestRepeatedField(t *testing.T) {
	for _, c := range []struct {
		entry string
		field string
		n     int
	}{
		{`{}`, "", 0},
		{`{"bootstrapPrefix":"a"}`, "", 0},
		{`{"bootstrapPrefix":"a","discordTokenSecret":"b"}`, "", 0},
		{`{"bootstrapPrefix":"a","BootstrapPrefix":"b"}`, "bootstrapPrefix", 2},
		{`{"discordTokenSecret":"a","discordtokensecret":"b","DISCORDTOKENSECRET":"c"}`, "discordTokenSecret", 3},
	} {
		if f, n := repeatedField([]byte(c.entry)); f != c.field || n != c.n {
			t.Errorf("repeatedField(%s) = %q, %d; want %q, %d", c.entry, f, n, c.field, c.n)
		}
	}
}
