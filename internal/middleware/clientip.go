package middleware

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/modulith/modulith/internal/reqmeta"
)

// ClientIP stores the client's IP address in the context
// (reqmeta.ClientIP). It is the address of the peer, unless the peer is a
// trusted proxy: then it is the right-most address of X-Forwarded-For that is
// not itself trusted, since everything left of it may have been written by
// the client. X-Forwarded-For from untrusted peers is ignored, so a client
// cannot choose its own address.
func ClientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	trusted = append([]netip.Prefix(nil), trusted...)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip, ok := clientAddr(r, trusted)
			if !ok {
				serve(next, w, r)

				return
			}

			serve(next, w, r.WithContext(reqmeta.WithClientIP(r.Context(), ip.String())))
		})
	}
}

// clientAddr returns the client's address; false when the peer's address is
// unknown (a Unix socket, for example).
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, false
	}

	if !isTrusted(peer, trusted) {
		return peer, true
	}

	return forwardedFor(r.Header.Values("X-Forwarded-For"), peer, trusted), true
}

// forwardedFor walks the X-Forwarded-For hops from the right, starting from
// the trusted peer, and stops at the first untrusted one. A malformed entry
// ends the walk at the last valid hop; when every hop is trusted the
// left-most one is the client.
func forwardedFor(values []string, peer netip.Addr, trusted []netip.Prefix) netip.Addr {
	client := peer

	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop, ok := parseAddr(strings.TrimSpace(hops[j]))
			if !ok {
				return client
			}

			client = hop
			if !isTrusted(hop, trusted) {
				return client
			}
		}
	}

	return client
}

// parseAddr parses "ip", "ip:port" or "[ipv6]:port", dropping any zone and
// unmapping IPv4-mapped IPv6 addresses.
func parseAddr(s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}

		addr = ap.Addr()
	}

	return addr.WithZone("").Unmap(), true
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}

	return false
}
