package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modulith/modulith/internal/routepolicy"
)

// The values of EMAIL_PROVIDER and SMS_PROVIDER; "" means none.
const (
	ProviderLog  = "log"  // either channel; dev only: codes go to the log
	ProviderSMTP = "smtp" // EMAIL_PROVIDER
	ProviderHTTP = "http" // SMS_PROVIDER: a JSON POST to SMS_HTTP_URL
)

// The values of SMTP_TLS.
const (
	SMTPTLSStartTLS = "starttls" // plain connection upgraded by STARTTLS, which is required
	SMTPTLSImplicit = "tls"      // TLS from the first byte (usually port 465)
	SMTPTLSNone     = "none"     // no TLS: loopback relays, or dev
)

const wildcardOrigin = "*"

// Validate checks c and returns every problem, joined, each a *KeyError
// naming its key. r is the report Load produced: prod requires some keys to
// be set explicitly, and a key absent from r counts as not set.
func (c *Config) Validate(r Report) error {
	p := &problems{report: r}

	c.validateEnums(p)
	c.validateLimits(p)
	c.validateNetwork(p)
	c.validateSMTP(p)
	c.validateSMSHTTP(p)
	c.validateRoutePolicies(p)

	c.validateSecrets(p)

	if err := checkDSN(c.DBDSN); err != nil {
		p.add("DB_DSN", "%v", err)
	}

	c.validateCache(p)

	if c.Env == envProd {
		c.validateProd(p)
	}

	return errors.Join(p.errs...)
}

func (c *Config) validateEnums(p *problems) {
	p.oneOf("ENV", c.Env, envDev, envProd)
	p.oneOf("LOG_LEVEL", c.LogLevel, "debug", "info", "warn", "error")
	p.oneOf("LOG_FORMAT", c.LogFormat, "text", "json")
	p.oneOf("EMAIL_PROVIDER", c.EmailProvider, "", ProviderLog, ProviderSMTP)
	p.oneOf("SMS_PROVIDER", c.SMSProvider, "", ProviderLog, ProviderHTTP)
	p.oneOf("SMTP_TLS", c.SMTPTLS, SMTPTLSStartTLS, SMTPTLSImplicit, SMTPTLSNone)
}

func (c *Config) validateLimits(p *problems) {
	p.between("HTTP_PORT", int64(c.HTTPPort), 0, 65535)
	p.between("GRPC_PORT", int64(c.GRPCPort), 0, 65535)
	p.between("ADMIN_PORT", int64(c.AdminPort), 0, 65535)
	p.between("SMTP_PORT", int64(c.SMTPPort), 1, 65535)
	p.check(c.DBMaxConns >= 1, "DB_MAX_CONNS", "must be at least 1 (got %d)", c.DBMaxConns)
	p.check(c.DBMinConns >= 0 && c.DBMinConns <= c.DBMaxConns, "DB_MIN_CONNS",
		"must be between 0 and DB_MAX_CONNS=%d (got %d)", c.DBMaxConns, c.DBMinConns)
	p.check(c.MaxBodyBytes > 0, "MAX_BODY_BYTES", "must be positive (got %d)", c.MaxBodyBytes)

	p.positive("REQUEST_TIMEOUT", c.RequestTimeout)
	p.positive("REQUEST_READ_TIMEOUT", c.RequestReadTimeout)
	p.positive("SHUTDOWN_TIMEOUT", c.ShutdownTimeout)
	p.nonNegative("SHUTDOWN_DELAY", c.ShutdownDelay)
	p.nonNegative("LOG_SLOW_REQUEST", c.LogSlowRequest)
	p.nonNegative("DB_CONN_MAX_LIFETIME", c.DBConnMaxLifetime)
	p.positive("REMOTE_TIMEOUT", c.RemoteTimeout)
	p.positive("FEATURE_RELOAD_INTERVAL", c.FeatureReloadInterval)
	p.nonNegative("GRPC_MAX_CONNECTION_AGE", c.GRPCMaxConnectionAge)
	p.between("REMOTE_RETRIES", int64(c.RemoteRetries), 0, maxRemoteRetries)
	p.between("BREAKER_FAILURES", int64(c.BreakerFailures), 1, maxBreakerFailures)
	p.positive("BREAKER_COOLDOWN", c.BreakerCooldown)
	p.between("OUTBOUND_RETRIES", int64(c.OutboundRetries), 0, maxOutboundRetries)
	p.between("GRAPHQL_MAX_DEPTH", int64(c.GraphQLMaxDepth), 1, maxGraphQLDepth)
	p.between("GRAPHQL_MAX_COMPLEXITY", int64(c.GraphQLMaxComplexity), 1, maxGraphQLComplexity)
}

// validateCache checks CACHE_URL (a Redis URL, when set) and the session
// cache's TTL.
func (c *Config) validateCache(p *problems) {
	p.nonNegative("SESSION_CACHE_TTL", c.SessionCacheTTL)

	if c.CacheURL == "" {
		return
	}

	if _, err := redis.ParseURL(c.CacheURL); err != nil {
		// The URL may hold a password: the error names the scheme only.
		p.add("CACHE_URL", "must be redis://[user:password@]host:port[/db] or rediss://…")
	}
}

// validateRemotes checks the module=target entries of REMOTE_MODULES.
func (c *Config) validateRemotes(p *problems) {
	seen := make(map[string]bool, len(c.RemoteModules))

	for _, entry := range c.RemoteModules {
		name, addr, ok := remoteEntry(entry)

		switch {
		case !ok || !moduleName.MatchString(name) || !validRemoteTarget(addr):
			p.add("REMOTE_MODULES", "%q must be module=host:port or module=dns:///host:port", entry)
		case seen[name]:
			p.add("REMOTE_MODULES", "module %q is listed twice", name)
		}

		seen[name] = true
	}
}

// maxRemoteRetries is gRPC's own cap: five attempts in all.
const maxRemoteRetries = 4

// The highest breaker threshold and outbound retries accepted: beyond them
// a dead destination holds callers for longer than any request lasts.
const (
	maxBreakerFailures = 1000
	maxOutboundRetries = 5
)

// The highest GraphQL limits accepted: beyond them a limit protects
// nothing.
const (
	maxGraphQLDepth      = 100
	maxGraphQLComplexity = 100_000
)

// moduleName is a module's name (registry's rule).
var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// validRemoteTarget reports whether s is a gRPC target REMOTE_MODULES
// takes: host:port, or a DNS name in gRPC's dns scheme,
// dns:///host:port or dns://resolver:53/host:port.
func validRemoteTarget(s string) bool {
	if !strings.HasPrefix(s, "dns://") {
		return validHostPort(s)
	}

	u, err := url.Parse(s)
	if err != nil || u.Scheme != "dns" || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}

	if u.Host != "" && !validHostPort(u.Host) {
		return false
	}

	return validHostPort(strings.TrimPrefix(u.Path, "/"))
}

// validHostPort reports whether s is host:port with a port number.
func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}

	n, err := strconv.Atoi(port)

	return err == nil && n > 0 && n <= 65535
}

func (c *Config) validateNetwork(p *problems) {
	wildcard := slices.Contains(c.CORSAllowedOrigins, wildcardOrigin)
	p.check(!wildcard || !c.CORSAllowCredentials, "CORS_ALLOWED_ORIGINS",
		`%q cannot be combined with CORS_ALLOW_CREDENTIALS=true`, wildcardOrigin)

	for _, origin := range c.CORSAllowedOrigins {
		if origin != wildcardOrigin && !validOrigin(origin) {
			p.add("CORS_ALLOWED_ORIGINS", "origin %q must be scheme://host[:port] with no path", origin)
		}
	}

	c.validateRemotes(p)

	for _, proxy := range c.TrustedProxies {
		if !validProxy(proxy) {
			p.add("TRUSTED_PROXIES", "%q is neither a CIDR nor an IP address", proxy)
		}
	}
}

// validateProd refuses what is only safe, or only sensible, on a developer
// machine.
func (c *Config) validateProd(p *problems) {
	p.check(p.explicit("DB_DSN"), "DB_DSN", "required when ENV=prod")
	p.check(p.explicit("JWT_SECRET") || c.SecretsProvider != SecretsEnv, "JWT_SECRET", "required when ENV=prod")
	p.check(!slices.Contains(c.CORSAllowedOrigins, wildcardOrigin), "CORS_ALLOWED_ORIGINS", "%q is not allowed when ENV=prod", wildcardOrigin)
	p.check(!c.SwaggerEnabled, "SWAGGER_ENABLED", "dev-only: must be false when ENV=prod")
	p.check(!c.GraphQLPlayground, "GRAPHQL_PLAYGROUND", "dev-only: must be false when ENV=prod")
	p.check(!c.GraphQLIntrospection, "GRAPHQL_INTROSPECTION", "dev-only: must be false when ENV=prod")
	p.check(c.EmailProvider != ProviderLog, "EMAIL_PROVIDER", "%q is dev-only", ProviderLog)
	p.check(c.SMSProvider != ProviderLog, "SMS_PROVIDER", "%q is dev-only", ProviderLog)
}

// validateSMTP checks the SMTP_* keys when EMAIL_PROVIDER=smtp, so that a
// mail relay that cannot work stops start-up instead of every login.
func (c *Config) validateSMTP(p *problems) {
	if c.EmailProvider != ProviderSMTP {
		return
	}

	c.validateSMTPAddresses(p)
	p.check(c.SMTPUsername != "" || c.SMTPPassword == "", "SMTP_USERNAME", "required with SMTP_PASSWORD")
	p.check(c.SMTPPassword != "" || c.SMTPUsername == "", "SMTP_PASSWORD", "required with SMTP_USERNAME")

	// Without TLS, mail (codes included) crosses the network in clear: prod
	// allows that only to a relay on this host, and no profile sends a
	// password that way (net/smtp would refuse at the first message).
	switch {
	case c.SMTPTLS != SMTPTLSNone || loopbackHost(c.SMTPHost):
	case c.Env == envProd:
		p.add("SMTP_TLS", "%q is allowed when ENV=prod only with a loopback SMTP_HOST (got %q)", SMTPTLSNone, c.SMTPHost)
	case c.SMTPPassword != "":
		p.add("SMTP_TLS", "%q with credentials needs a loopback SMTP_HOST (got %q)", SMTPTLSNone, c.SMTPHost)
	}
}

// validateSMTPAddresses checks the relay's and the sender's addresses.
func (c *Config) validateSMTPAddresses(p *problems) {
	if c.SMTPHost == "" {
		p.add("SMTP_HOST", "required when EMAIL_PROVIDER=%s", ProviderSMTP)
	} else if !validHost(c.SMTPHost) {
		p.add("SMTP_HOST", "must be a host name or IP address, without scheme or port (got %q)", c.SMTPHost)
	}

	if c.SMTPFrom == "" {
		p.add("SMTP_FROM", "required when EMAIL_PROVIDER=%s", ProviderSMTP)
	} else if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
		p.add("SMTP_FROM", "must be an address such as \"Example <no-reply@example.com>\" (got %q): %w", c.SMTPFrom, err)
	}
}

// validateSMSHTTP checks the SMS_HTTP_* keys when SMS_PROVIDER=http.
func (c *Config) validateSMSHTTP(p *problems) {
	if c.SMSProvider != ProviderHTTP {
		return
	}

	p.check(c.SMSHTTPToken != "", "SMS_HTTP_TOKEN", "required when SMS_PROVIDER=%s", ProviderHTTP)

	if c.SMSHTTPURL == "" {
		p.add("SMS_HTTP_URL", "required when SMS_PROVIDER=%s", ProviderHTTP)

		return
	}

	// The URL is logged at start, so neither it nor a parse error (which
	// quotes it) is repeated here, and credentials in it are refused.
	u, err := url.Parse(c.SMSHTTPURL)

	switch {
	case err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https":
		p.add("SMS_HTTP_URL", "must be an absolute http or https URL")
	case u.User != nil:
		p.add("SMS_HTTP_URL", "must not carry credentials: set SMS_HTTP_TOKEN")
	case c.Env == envProd && u.Scheme != "https":
		p.add("SMS_HTTP_URL", "must be https when ENV=prod")
	}
}

// validHost reports whether s is a bare host name or IP address.
func validHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}

	return !strings.ContainsAny(s, ":/@[] \t")
}

// loopbackHost reports whether host names this machine: "localhost" or a
// loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}

	addr, err := netip.ParseAddr(host)

	return err == nil && addr.IsLoopback()
}

// validOrigin reports whether origin is exactly scheme://host[:port], the form
// browsers send in the Origin header.
func validOrigin(origin string) bool {
	u, err := url.Parse(origin)

	return err == nil && u.Scheme != "" && u.Host != "" && u.Scheme+"://"+u.Host == origin
}

func validProxy(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}

	_, err := netip.ParseAddr(s)

	return err == nil
}

// problems collects validation errors.
type problems struct {
	report Report
	errs   []error
}

func (p *problems) add(key, format string, args ...any) {
	p.errs = append(p.errs, &KeyError{Key: key, Source: p.report.Source(key), Err: fmt.Errorf(format, args...)})
}

func (p *problems) check(ok bool, key, format string, args ...any) {
	if !ok {
		p.add(key, format, args...)
	}
}

// explicit reports whether key was set in a layer rather than defaulted.
func (p *problems) explicit(key string) bool {
	src := p.report.Source(key)

	return src != "" && src != SourceDefault
}

func (p *problems) oneOf(key, value string, allowed ...string) {
	if slices.Contains(allowed, value) {
		return
	}

	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = fmt.Sprintf("%q", a)
	}

	p.add(key, "must be one of %s (got %q)", strings.Join(quoted, ", "), value)
}

func (p *problems) between(key string, v, lo, hi int64) {
	p.check(v >= lo && v <= hi, key, "must be between %d and %d (got %d)", lo, hi, v)
}

func (p *problems) positive(key string, d time.Duration) {
	p.check(d > 0, key, "must be positive (got %s)", d)
}

func (p *problems) nonNegative(key string, d time.Duration) {
	p.check(d >= 0, key, "must not be negative (got %s)", d)
}

// validateRoutePolicies checks the syntax of the route policies and that
// RATE_LIMIT_URL is a Redis URL.
func (c *Config) validateRoutePolicies(p *problems) {
	if _, err := routepolicy.ParseLimits(c.RateLimits); err != nil {
		p.add("RATE_LIMITS", "%v", err)
	}

	if _, err := routepolicy.ParseRoles(c.RouteRoles); err != nil {
		p.add("ROUTE_ROLES", "%v", err)
	}

	if _, err := routepolicy.ParseCacheControl(c.HTTPCacheControl); err != nil {
		p.add("HTTP_CACHE_CONTROL", "%v", err)
	}

	if c.RateLimitURL != "" {
		if u, err := url.Parse(c.RateLimitURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			p.add("RATE_LIMIT_URL", "must be redis://host:port/db or rediss://… (got %s)", redactDSN(c.RateLimitURL))
		}
	}
}
