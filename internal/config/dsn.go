package config

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

var (
	// kvPasswordRE matches the value of password (and sslpassword) in a
	// key=value DSN: a quoted string with backslash escapes, or a run of
	// non-space characters.
	kvPasswordRE = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.)*)`)
	// queryPasswordRE matches a password passed as a URL query parameter.
	queryPasswordRE = regexp.MustCompile(`(?i)((?:^|&)[^&=]*password=)[^&]*`)
)

// redactDSN masks the password of a postgres URL or key=value DSN. A DSN
// that cannot be parsed reliably shows only its length: guessing where its
// password ends could leak it.
func redactDSN(dsn string) string {
	if dsn == "" {
		return "(unset)"
	}

	if !strings.Contains(dsn, "://") {
		return kvPasswordRE.ReplaceAllString(dsn, "${1}***")
	}

	// An "@" after the host or a fragment means an unescaped '/', '?' or '#'
	// in the password moved part of it out of the user info.
	u, err := url.Parse(dsn)
	if err != nil || u.Opaque != "" || u.Fragment != "" || strings.Contains(u.Path+u.RawQuery, "@") {
		return redactSecret(dsn)
	}

	u.RawQuery = queryPasswordRE.ReplaceAllString(u.RawQuery, "${1}***")

	if _, ok := u.User.Password(); !ok {
		return u.String()
	}

	// Rebuild the user info by hand: url.UserPassword would escape "***".
	u.User = url.User(u.User.Username())
	out := u.String()

	prefix := u.Scheme + "://" + u.User.String()
	if !strings.HasPrefix(out, prefix) {
		return redactSecret(dsn)
	}

	return prefix + ":***" + strings.TrimPrefix(out, prefix)
}

var errDSN = errors.New("must be a postgres:// or postgresql:// URL or key=value pairs")

// checkDSN reports whether dsn has the shape pgx accepts. Its errors never
// quote the DSN, which may hold a password.
func checkDSN(dsn string) error {
	if strings.TrimSpace(dsn) == "" {
		return errors.New("must not be empty")
	}

	if !strings.Contains(dsn, "://") {
		return checkKeyValueDSN(dsn)
	}

	u, err := url.Parse(dsn)
	if err != nil || u.Fragment != "" || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errDSN
	}

	return nil
}

// checkKeyValueDSN parses the libpq key=value form: keys are words, values
// are single-quoted (with backslash escapes) or runs of non-space characters.
func checkKeyValueDSN(dsn string) error {
	rest := strings.TrimSpace(dsn)
	for rest != "" {
		key, value, ok := strings.Cut(rest, "=")
		if key = strings.TrimSpace(key); !ok || key == "" || strings.ContainsAny(key, " \t\r\n'\\") {
			return errDSN
		}

		var err error
		if rest, err = skipValue(strings.TrimLeft(value, " \t\r\n")); err != nil {
			return err
		}

		rest = strings.TrimLeft(rest, " \t\r\n")
	}

	return nil
}

// skipValue returns what follows the value at the start of s.
func skipValue(s string) (string, error) {
	quoted := strings.HasPrefix(s, "'")
	if quoted {
		s = s[1:]
	}

	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case quoted && c == '\'':
			return s[i+1:], nil
		case !quoted && strings.IndexByte(" \t\r\n", c) >= 0:
			return s[i:], nil
		}
	}

	if quoted {
		return "", errors.New("has an unterminated quoted value")
	}

	return "", nil
}
