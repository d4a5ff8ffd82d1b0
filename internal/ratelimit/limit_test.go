package ratelimit_test

import (
	"testing"
	"time"

	"github.com/modulith/modulith/internal/ratelimit"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want ratelimit.Limit
	}{
		{"100/s", ratelimit.Limit{Count: 100, Period: time.Second, Burst: 100}},
		{"20/m:5", ratelimit.Limit{Count: 20, Period: time.Minute, Burst: 5}},
		{" 3/h ", ratelimit.Limit{Count: 3, Period: time.Hour, Burst: 3}},
	}
	for _, tt := range tests {
		got, err := ratelimit.ParseLimit(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}

		if again, err := ratelimit.ParseLimit(got.String()); err != nil || again != got {
			t.Errorf("ParseLimit(%q.String() = %q) = %+v, %v", tt.in, got.String(), again, err)
		}
	}
}

func TestParseLimitRejects(t *testing.T) {
	for _, in := range []string{"", "100", "100/d", "0/s", "-1/s", "x/s", "10/s:0", "10/s:x", "10/s:", "2000000/s", "/s"} {
		if got, err := ratelimit.ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) = %+v, want an error", in, got)
		}
	}
}
