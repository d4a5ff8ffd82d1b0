package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// postgresScheme is the scheme of database URLs; postgresql:// is its alias.
const postgresScheme = "postgres"

// defaultDSN is the server's built-in database URL, the last resort of
// resolveDSN. Its password is the local development one that
// deployment/docker/compose.yaml sets, not a secret.
var defaultDSN = (&url.URL{
	Scheme:   postgresScheme,
	User:     url.UserPassword("postgres", "postgres"),
	Host:     "127.0.0.1:5432",
	Path:     "/modulith",
	RawQuery: "sslmode=disable",
}).String()

// maintenanceDB is the database every PostgreSQL server has; devdb connects
// to it to create and drop the target database.
const maintenanceDB = "postgres"

// redactMark stands in for a password while a URL is re-encoded: it needs no
// escaping, unlike the "***" that replaces it afterwards.
const redactMark = "devdbredactedpassword"

// resolveDSN finds the database URL the server would use when started from
// dir, with the same precedence: the DB_DSN environment variable, then DB_DSN
// in dir/.env, then db_dsn in the config file, then the default. It also
// says where the URL came from. The process environment is never modified.
func resolveDSN(dir string, getenv func(string) string) (dsn, source string, err error) {
	return resolveSetting(dir, getenv, setting{
		env:      "DB_DSN",
		fromFile: func(c fileConfig) string { return c.DSN },
		fallback: defaultDSN,
	})
}

// errNotURL rejects key/value DSNs; it does not echo the DSN, which may
// hold a password.
var errNotURL = errors.New("the database DSN is not a postgres:// URL; devdb understands only URLs " +
	"such as postgres://user:password@127.0.0.1:5432/modulith?sslmode=disable")

// target is a parsed database URL and where it points.
type target struct {
	url      *url.URL
	host     string // host name, IP address or unix socket directory
	port     uint16
	database string
}

// parseTarget parses a postgres:// URL. Key/value DSNs are rejected with
// errNotURL: devdb rewrites the database name of the URL.
func parseTarget(dsn string) (target, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != postgresScheme && u.Scheme != "postgresql") {
		return target{}, errNotURL
	}

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return target{}, fmt.Errorf("parse database URL %s: %w", redact(u), err)
	}

	if cfg.Database == "" {
		return target{}, fmt.Errorf("database URL %s names no database", redact(u))
	}

	return target{url: u, host: cfg.Host, port: cfg.Port, database: cfg.Database}, nil
}

// String returns the URL with its password replaced by ***, for messages.
func (t target) String() string {
	return redact(t.url)
}

// dsn returns the URL unredacted, for connecting and for scripts.
func (t target) dsn() string {
	return t.url.String()
}

// withDatabase returns the unredacted URL of database name on the same server.
func (t target) withDatabase(name string) string {
	u := *t.url
	u.Path = "/" + name
	u.RawPath = ""

	q := u.Query()
	if q.Has("dbname") || q.Has("database") {
		q.Del("dbname")
		q.Del("database")
		u.RawQuery = q.Encode()
	}

	return u.String()
}

// address returns where the server listens: host:port, or the socket directory.
func (t target) address() string {
	if t.socket() {
		return t.host
	}

	return net.JoinHostPort(t.host, strconv.Itoa(int(t.port)))
}

// socket reports whether the URL points at a unix socket directory.
func (t target) socket() bool {
	return strings.HasPrefix(t.host, "/")
}

// redact returns u with the password, in the user info or the query,
// replaced by ***.
func redact(u *url.URL) string {
	c := *u
	if _, ok := c.User.Password(); ok {
		c.User = url.UserPassword(c.User.Username(), redactMark)
	}

	if q := c.Query(); q.Has("password") {
		q.Set("password", redactMark)
		c.RawQuery = q.Encode()
	}

	return strings.ReplaceAll(c.String(), redactMark, "***")
}

// isLocalHost reports whether host is this machine: a loopback name or
// address, or a unix socket directory. Only there may devdb start a server.
func isLocalHost(host string) bool {
	if host == "localhost" || strings.HasPrefix(host, "/") {
		return true
	}

	ip := net.ParseIP(host)

	return ip != nil && ip.IsLoopback()
}
