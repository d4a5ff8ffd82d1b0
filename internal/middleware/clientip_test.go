package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/reqmeta"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}

	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{name: "untrusted peer", remote: "203.0.113.7:4711", want: "203.0.113.7"},
		{
			name:   "spoofed header from untrusted peer is ignored",
			remote: "203.0.113.7:4711",
			xff:    []string{"1.2.3.4"},
			want:   "203.0.113.7",
		},
		{
			name:   "spoofed trusted address from untrusted peer is ignored",
			remote: "203.0.113.7:4711",
			xff:    []string{"10.0.0.1"},
			want:   "203.0.113.7",
		},
		{name: "trusted peer without header", remote: "10.0.0.2:80", want: "10.0.0.2"},
		{name: "trusted peer", remote: "10.0.0.2:80", xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{
			name:   "right-most untrusted hop wins over client-written ones",
			remote: "10.0.0.2:80",
			xff:    []string{"1.2.3.4, 198.51.100.9, 10.0.0.3"},
			want:   "198.51.100.9",
		},
		{
			name:   "several header lines",
			remote: "10.0.0.2:80",
			xff:    []string{"1.2.3.4", "198.51.100.9,10.0.0.3"},
			want:   "198.51.100.9",
		},
		{name: "all hops trusted", remote: "10.0.0.2:80", xff: []string{"10.0.0.9, 10.0.0.3"}, want: "10.0.0.9"},
		{
			name:   "malformed hop stops the walk",
			remote: "10.0.0.2:80",
			xff:    []string{"198.51.100.9, garbage, 10.0.0.3"},
			want:   "10.0.0.3",
		},
		{name: "hop with port", remote: "10.0.0.2:80", xff: []string{"198.51.100.9:5555"}, want: "198.51.100.9"},
		{name: "IPv6 untrusted peer", remote: "[2001:db8::1]:443", xff: []string{"1.2.3.4"}, want: "2001:db8::1"},
		{name: "IPv6 trusted peer", remote: "[fd00::1]:443", xff: []string{"2001:db8::7"}, want: "2001:db8::7"},
		{
			name:   "IPv4-mapped trusted peer",
			remote: "[::ffff:10.0.0.2]:80",
			xff:    []string{"198.51.100.9"},
			want:   "198.51.100.9",
		},
		{name: "peer without port", remote: "203.0.113.7", want: "203.0.113.7"},
		{name: "unknown peer", remote: "@", xff: []string{"1.2.3.4"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote

			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}

			var got string

			middleware.ClientIP(trusted)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got = reqmeta.ClientIP(r.Context())
			})).ServeHTTP(httptest.NewRecorder(), r)

			if got != tt.want {
				t.Errorf("ClientIP(remote %q, X-Forwarded-For %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestClientIPWithoutTrustedProxies(t *testing.T) {
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.7:4711"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")

	var got string

	middleware.ClientIP(nil)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = reqmeta.ClientIP(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), r)

	if got != "203.0.113.7" {
		t.Errorf("ClientIP(nil) = %q, want the peer 203.0.113.7", got)
	}
}
