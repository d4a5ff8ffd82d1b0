package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/joho/godotenv"
	"go.yaml.in/yaml/v3"
)

// defaultDSN is the server's built-in database URL, the last resort of
// resolveDSN. Its password is the local development one that
// deployment/docker/compose.yaml sets, not a secret.
var defaultDSN = (&url.URL{
	Scheme:   "postgres",
	User:     url.UserPassword("postgres", "postgres"),
	Host:     "127.0.0.1:5432",
	Path:     "/modulith",
	RawQuery: "sslmode=disable",
}).String()

// defaultConfigFile is read when CONFIG_FILE is not set, like the server does.
const defaultConfigFile = "configs/server.yaml"

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
	if dsn := getenv("DB_DSN"); dsn != "" {
		return dsn, "the DB_DSN environment variable", nil
	}

	dotenv, err := readDotenv(filepath.Join(dir, ".env"))
	if err != nil {
		return "", "", err
	}

	if dsn := dotenv["DB_DSN"]; dsn != "" {
		return dsn, ".env", nil
	}

	name := getenv("CONFIG_FILE")
	if name == "" {
		name = dotenv["CONFIG_FILE"]
	}

	dsn, err = configDSN(dir, name)
	if err != nil {
		return "", "", err
	}

	if dsn != "" {
		return dsn, configName(name), nil
	}

	return defaultDSN, "the default", nil
}

// readDotenv returns the variables of a .env file; a missing file has none.
func readDotenv(path string) (map[string]string, error) {
	vars, err := godotenv.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}

	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}

	return vars, nil
}

// configDSN returns db_dsn from the config file name, relative to dir, or
// from configs/server.yaml when name is empty. Only an explicitly named file
// has to exist.
func configDSN(dir, name string) (string, error) {
	path := configName(name)
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}

	data, err := os.ReadFile(filepath.Clean(path))
	if name == "" && errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}

	if err != nil {
		return "", fmt.Errorf("read config file: %w", err)
	}

	var cfg struct {
		DSN string `yaml:"db_dsn"`
	}

	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}

	return cfg.DSN, nil
}

// configName returns the config file to read: name, or the default.
func configName(name string) string {
	if name == "" {
		return defaultConfigFile
	}

	return name
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
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
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
