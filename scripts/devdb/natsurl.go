package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// natsScheme is the scheme of plain NATS URLs, the only ones devdb starts
// a server for.
const natsScheme = "nats"

// defaultNATSURL is the server's built-in NATS_URL, the last resort of
// resolveNATSURL.
const defaultNATSURL = "nats://127.0.0.1:4222"

// defaultNATSPort is where a NATS URL without a port points, as nats.go has it.
const defaultNATSPort = 4222

// errNotNATSURL means the NATS URL cannot be parsed; it does not echo the
// URL, which may hold a password or token.
var errNotNATSURL = errors.New("the NATS URL is not a nats://, tls://, ws:// or wss:// URL " +
	"such as nats://127.0.0.1:4222")

// resolveNATSURL finds the NATS URL the server would use when started from
// dir, with the same precedence as resolveDSN: the NATS_URL environment
// variable, then NATS_URL in dir/.env, then events.nats_url in the config
// file, then the default. It also says where the URL came from.
func resolveNATSURL(dir string, getenv func(string) string) (natsURL, source string, err error) {
	return resolveSetting(dir, getenv, setting{
		env:      "NATS_URL",
		fromFile: func(c fileConfig) string { return c.Events.NATSURL },
		fallback: defaultNATSURL,
	})
}

// natsTarget is a parsed NATS URL. Of a comma-separated list of servers,
// devdb checks and starts only the first.
type natsTarget struct {
	raw  string   // as configured, for scripts
	url  *url.URL // the first server, with a scheme
	host string
	port uint16
}

// parseNATSTarget parses a NATS URL as nats.go does: a missing scheme is
// nats://, a missing port 4222.
func parseNATSTarget(raw string) (natsTarget, error) {
	first, _, _ := strings.Cut(raw, ",")
	first = strings.TrimSpace(first)

	if !strings.Contains(first, "://") {
		first = natsScheme + "://" + first
	}

	u, err := url.Parse(first)
	if err != nil || u.Hostname() == "" {
		return natsTarget{}, errNotNATSURL
	}

	switch u.Scheme {
	case natsScheme, "tls", "ws", "wss":
	default:
		return natsTarget{}, errNotNATSURL
	}

	port := defaultNATSPort

	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return natsTarget{}, fmt.Errorf("%w: port %q", errNotNATSURL, p)
		}
	}

	return natsTarget{raw: raw, url: u, host: u.Hostname(), port: uint16(port)}, nil
}

// String returns the first server's URL with its password or token
// replaced by ***, for messages.
func (t natsTarget) String() string {
	c := *t.url

	switch _, ok := c.User.Password(); {
	case ok:
		c.User = url.UserPassword(c.User.Username(), redactMark)
	case c.User != nil:
		c.User = url.User(redactMark) // a lone user name is a token
	}

	return strings.ReplaceAll(c.String(), redactMark, "***")
}

// address returns host:port of the first server.
func (t natsTarget) address() string {
	return net.JoinHostPort(t.host, strconv.Itoa(int(t.port)))
}

// serverURL returns the unredacted URL of the first server, for connecting.
func (t natsTarget) serverURL() string {
	return t.url.String()
}
