package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/config"
)

// loaded returns a valid dev or prod Config and the report Load made for it.
func loaded(t *testing.T, prod bool) (config.Config, config.Report) {
	t.Helper()

	env := map[string]string{}
	if prod {
		env = map[string]string{"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": prodSecret}
	}

	cfg, _, report, err := config.Load(config.Files{}, envOf(env))
	if err != nil {
		t.Fatalf("Load(%v) = %v", env, err)
	}

	return *cfg, report
}

// defaulted returns r with keys marked as never set explicitly.
func defaulted(r config.Report, keys ...string) config.Report {
	entries := make([]config.Entry, len(r.Entries))
	copy(entries, r.Entries)

	for i, e := range entries {
		for _, k := range keys {
			if e.Key == k {
				entries[i].Source = config.SourceDefault
			}
		}
	}

	return config.Report{Entries: entries, Warnings: r.Warnings}
}

func TestValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		prod      bool
		mutate    func(*config.Config)
		defaulted []string // keys the report marks as not set explicitly
		want      []string // keys the error names
	}{
		{name: "dev defaults"},
		{name: "prod minimal", prod: true},

		{name: "ENV unknown", mutate: func(c *config.Config) { c.Env = "staging" }, want: []string{"ENV"}},
		{name: "LOG_LEVEL unknown", mutate: func(c *config.Config) { c.LogLevel = "verbose" }, want: []string{"LOG_LEVEL"}},
		{name: "LOG_LEVEL warn", mutate: func(c *config.Config) { c.LogLevel = "warn" }},
		{name: "LOG_FORMAT unknown", mutate: func(c *config.Config) { c.LogFormat = "xml" }, want: []string{"LOG_FORMAT"}},

		{name: "HTTP_PORT negative", mutate: func(c *config.Config) { c.HTTPPort = -1 }, want: []string{"HTTP_PORT"}},
		{name: "HTTP_PORT too large", mutate: func(c *config.Config) { c.HTTPPort = 65536 }, want: []string{"HTTP_PORT"}},
		{name: "ports 0 and 65535", mutate: func(c *config.Config) { c.HTTPPort, c.GRPCPort = 0, 65535 }},
		{name: "GRPC_PORT too large", mutate: func(c *config.Config) { c.GRPCPort = 70000 }, want: []string{"GRPC_PORT"}},

		{name: "REQUEST_TIMEOUT zero", mutate: func(c *config.Config) { c.RequestTimeout = 0 }, want: []string{"REQUEST_TIMEOUT"}},
		{name: "REQUEST_READ_TIMEOUT zero", mutate: func(c *config.Config) { c.RequestReadTimeout = 0 }, want: []string{"REQUEST_READ_TIMEOUT"}},
		{name: "ADMIN_PORT out of range", mutate: func(c *config.Config) { c.AdminPort = 70000 }, want: []string{"ADMIN_PORT"}},
		{name: "SHUTDOWN_TIMEOUT negative", mutate: func(c *config.Config) { c.ShutdownTimeout = -time.Second }, want: []string{"SHUTDOWN_TIMEOUT"}},
		{name: "SHUTDOWN_DELAY negative", mutate: func(c *config.Config) { c.ShutdownDelay = -time.Second }, want: []string{"SHUTDOWN_DELAY"}},
		{name: "SHUTDOWN_DELAY beyond SHUTDOWN_TIMEOUT", mutate: func(c *config.Config) { c.ShutdownDelay = time.Minute }},
		{name: "LOG_SLOW_REQUEST negative", mutate: func(c *config.Config) { c.LogSlowRequest = -1 }, want: []string{"LOG_SLOW_REQUEST"}},
		{name: "DB_CONN_MAX_LIFETIME negative", mutate: func(c *config.Config) { c.DBConnMaxLifetime = -1 }, want: []string{"DB_CONN_MAX_LIFETIME"}},
		{name: "MAX_BODY_BYTES zero", mutate: func(c *config.Config) { c.MaxBodyBytes = 0 }, want: []string{"MAX_BODY_BYTES"}},

		{name: "REMOTE_MODULES one", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=auth.internal:9090"} }},
		{name: "REMOTE_MODULES two, spaced", mutate: func(c *config.Config) { c.RemoteModules = []string{" auth = 10.0.0.7:9090", "orders=[::1]:9091"} }},
		{name: "REMOTE_MODULES no address", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES no port", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=auth.internal"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES bad port", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=auth:99999"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES bad name", mutate: func(c *config.Config) { c.RemoteModules = []string{"Auth=auth:9090"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES dns", mutate: func(c *config.Config) {
			c.RemoteModules = []string{"auth=dns:///modulith-auth-grpc.shop.svc.cluster.local:9090", "orders=dns://10.0.0.10:53/orders:9090"}
		}},
		{name: "REMOTE_MODULES dns no port", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=dns:///auth.shop.svc"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES dns no host", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=dns:///:9090"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES dns bad resolver", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=dns://10.0.0.10/auth:9090"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES other scheme", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=unix:///tmp/auth.sock"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_MODULES twice", mutate: func(c *config.Config) { c.RemoteModules = []string{"auth=a:1", "auth=b:2"} }, want: []string{"REMOTE_MODULES"}},
		{name: "REMOTE_TIMEOUT zero", mutate: func(c *config.Config) { c.RemoteTimeout = 0 }, want: []string{"REMOTE_TIMEOUT"}},
		{name: "REMOTE_RETRIES above gRPC's cap", mutate: func(c *config.Config) { c.RemoteRetries = 5 }, want: []string{"REMOTE_RETRIES"}},
		{name: "REMOTE_RETRIES zero", mutate: func(c *config.Config) { c.RemoteRetries = 0 }},
		{name: "BREAKER_FAILURES zero", mutate: func(c *config.Config) { c.BreakerFailures = 0 }, want: []string{"BREAKER_FAILURES"}},
		{name: "BREAKER_COOLDOWN zero", mutate: func(c *config.Config) { c.BreakerCooldown = 0 }, want: []string{"BREAKER_COOLDOWN"}},
		{name: "OUTBOUND_RETRIES negative", mutate: func(c *config.Config) { c.OutboundRetries = -1 }, want: []string{"OUTBOUND_RETRIES"}},
		{name: "OUTBOUND_RETRIES above the cap", mutate: func(c *config.Config) { c.OutboundRetries = 6 }, want: []string{"OUTBOUND_RETRIES"}},
		{name: "OUTBOUND_RETRIES zero", mutate: func(c *config.Config) { c.OutboundRetries = 0 }},

		{name: "DB_MAX_CONNS zero", mutate: func(c *config.Config) { c.DBMaxConns, c.DBMinConns = 0, 0 }, want: []string{"DB_MAX_CONNS"}},
		{name: "DB_MIN_CONNS negative", mutate: func(c *config.Config) { c.DBMinConns = -1 }, want: []string{"DB_MIN_CONNS"}},
		{name: "DB_MIN_CONNS above max", mutate: func(c *config.Config) { c.DBMinConns = c.DBMaxConns + 1 }, want: []string{"DB_MIN_CONNS"}},
		{name: "DB_MIN_CONNS equal to max", mutate: func(c *config.Config) { c.DBMinConns = c.DBMaxConns }},

		{name: "JWT_SECRET short in dev", mutate: func(c *config.Config) { c.JWTSecret = "short" }, want: []string{"JWT_SECRET"}},
		{name: "JWT_SECRET short in prod", prod: true, mutate: func(c *config.Config) { c.JWTSecret = "short" }, want: []string{"JWT_SECRET"}},
		{name: "JWT_SECRET 32 bytes", mutate: func(c *config.Config) { c.JWTSecret = "0123456789abcdef0123456789abcdef" }},
		{name: "JWT_SECRET not set in prod", prod: true, defaulted: []string{"JWT_SECRET"}, want: []string{"JWT_SECRET"}},
		{name: "JWT_SECRET dev secret in prod", prod: true, mutate: func(c *config.Config) { c.JWTSecret = config.DevJWTSecret }, want: []string{"JWT_SECRET"}},
		{name: "JWT_SECRET one letter in prod", prod: true, mutate: func(c *config.Config) { c.JWTSecret = strings.Repeat("a", 32) }, want: []string{"JWT_SECRET"}},
		{name: "JWT_SECRET two letters in prod", prod: true, mutate: func(c *config.Config) { c.JWTSecret = strings.Repeat("ab", 24) }, want: []string{"JWT_SECRET"}},
		{name: "JWT_SECRET sequence in prod", prod: true, mutate: func(c *config.Config) { c.JWTSecret = "0123456789abcdef0123456789abcdef" }, want: []string{"JWT_SECRET"}},
		{
			name: "JWT_SECRET long sequence in prod", prod: true,
			mutate: func(c *config.Config) { c.JWTSecret = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" },
			want:   []string{"JWT_SECRET"},
		},
		{
			name: "JWT_SECRET repeated word in prod", prod: true,
			mutate: func(c *config.Config) { c.JWTSecret = strings.Repeat("Tr0ub4dor&3-horse", 4) },
			want:   []string{"JWT_SECRET"},
		},
		{
			name: "JWT_SECRET words and a sequence in prod", prod: true,
			mutate: func(c *config.Config) { c.JWTSecret = "examples-secret-0123456789abcdef0123456789abcdef" },
			want:   []string{"JWT_SECRET"},
		},
		{name: "JWT_SECRET sequence in dev", mutate: func(c *config.Config) { c.JWTSecret = "0123456789abcdef0123456789abcdef" }},
		{name: "JWT_SECRET openssl base64 in prod", prod: true, mutate: func(c *config.Config) {
			c.JWTSecret = "22V09kirqUv4ugJugSUsmU0Xl6EQLQArQxF9LZbumbUYF1wNaTI3BrFH/DUSu2qX"
		}},
		{name: "JWT_SECRET openssl hex in prod", prod: true, mutate: func(c *config.Config) {
			c.JWTSecret = "82c901dda103526b2e49a97b60cab0325f1af26cb558cf691ff723e16e7445d1"
		}},
		{name: "DB_DSN not set in prod", prod: true, defaulted: []string{"DB_DSN"}, want: []string{"DB_DSN"}},

		{name: "DB_DSN postgresql URL", mutate: func(c *config.Config) { c.DBDSN = "postgresql://app@db/app" }},
		{name: "DB_DSN unix socket URL", mutate: func(c *config.Config) { c.DBDSN = "postgres:///app?host=/run/postgresql" }},
		{name: "DB_DSN key=value", mutate: func(c *config.Config) { c.DBDSN = "host=db user=app password='a b\\'c' dbname=app" }},
		{name: "DB_DSN other scheme", mutate: func(c *config.Config) { c.DBDSN = "mysql://app@db/app" }, want: []string{"DB_DSN"}},
		{name: "DB_DSN bad URL", mutate: func(c *config.Config) { c.DBDSN = "postgres://app:pw@db:port/app" }, want: []string{"DB_DSN"}},
		{name: "DB_DSN words", mutate: func(c *config.Config) { c.DBDSN = "not a dsn" }, want: []string{"DB_DSN"}},
		{name: "DB_DSN unterminated quote", mutate: func(c *config.Config) { c.DBDSN = "host=db password='x" }, want: []string{"DB_DSN"}},
		{name: "DB_DSN empty", mutate: func(c *config.Config) { c.DBDSN = "" }, want: []string{"DB_DSN"}},

		{name: "CORS wildcard in dev", mutate: func(c *config.Config) { c.CORSAllowedOrigins = []string{"*"} }},
		{
			name:   "CORS wildcard with credentials",
			mutate: func(c *config.Config) { c.CORSAllowedOrigins, c.CORSAllowCredentials = []string{"*"}, true },
			want:   []string{"CORS_ALLOWED_ORIGINS"},
		},
		{name: "CORS credentials with origins", mutate: func(c *config.Config) { c.CORSAllowCredentials = true }},
		{name: "CORS wildcard in prod", prod: true, mutate: func(c *config.Config) { c.CORSAllowedOrigins = []string{"*"} }, want: []string{"CORS_ALLOWED_ORIGINS"}},
		{name: "CORS origin with port", prod: true, mutate: func(c *config.Config) { c.CORSAllowedOrigins = []string{"https://app.example.com:8443"} }},
		{name: "CORS origin with path", mutate: func(c *config.Config) { c.CORSAllowedOrigins = []string{"https://a.example/app"} }, want: []string{"CORS_ALLOWED_ORIGINS"}},
		{name: "CORS origin trailing slash", mutate: func(c *config.Config) { c.CORSAllowedOrigins = []string{"https://a.example/"} }, want: []string{"CORS_ALLOWED_ORIGINS"}},
		{name: "CORS origin without scheme", mutate: func(c *config.Config) { c.CORSAllowedOrigins = []string{"a.example"} }, want: []string{"CORS_ALLOWED_ORIGINS"}},
		{name: "CORS origin with query", mutate: func(c *config.Config) { c.CORSAllowedOrigins = []string{"https://a.example?x=1"} }, want: []string{"CORS_ALLOWED_ORIGINS"}},

		{name: "SWAGGER_ENABLED in prod", prod: true, mutate: func(c *config.Config) { c.SwaggerEnabled = true }, want: []string{"SWAGGER_ENABLED"}},
		{name: "GRAPHQL_PLAYGROUND in prod", prod: true, mutate: func(c *config.Config) { c.GraphQLPlayground = true }, want: []string{"GRAPHQL_PLAYGROUND"}},
		{name: "GRAPHQL_INTROSPECTION in prod", prod: true, mutate: func(c *config.Config) { c.GraphQLIntrospection = true }, want: []string{"GRAPHQL_INTROSPECTION"}},
		{name: "GRAPHQL_MAX_DEPTH zero", mutate: func(c *config.Config) { c.GraphQLMaxDepth = 0 }, want: []string{"GRAPHQL_MAX_DEPTH"}},
		{name: "GRAPHQL_MAX_COMPLEXITY too high", mutate: func(c *config.Config) { c.GraphQLMaxComplexity = 1_000_000 }, want: []string{"GRAPHQL_MAX_COMPLEXITY"}},
		{name: "GRPC_REFLECTION in prod is allowed", prod: true, mutate: func(c *config.Config) { c.GRPCReflection = true }},
		{name: "RATE_LIMITS none", mutate: func(c *config.Config) { c.RateLimits = "" }},
		{name: "RATE_LIMITS with burst and off", mutate: func(c *config.Config) { c.RateLimits = "default=10/s:20,/ws=off" }},
		{name: "RATE_LIMITS bad unit", mutate: func(c *config.Config) { c.RateLimits = "default=100/d" }, want: []string{"RATE_LIMITS"}},
		{name: "RATE_LIMITS no limit", mutate: func(c *config.Config) { c.RateLimits = "auth.v1.AuthService/*" }, want: []string{"RATE_LIMITS"}},
		{name: "ROUTE_ROLES", mutate: func(c *config.Config) { c.RouteRoles = "orders.v1.OrdersService/*=admin|support" }},
		{name: "ROUTE_ROLES default", mutate: func(c *config.Config) { c.RouteRoles = "default=admin" }, want: []string{"ROUTE_ROLES"}},
		{name: "HTTP_CACHE_CONTROL", mutate: func(c *config.Config) {
			c.HTTPCacheControl = "a.v1.S/Get=public, max-age=60; default=private, no-cache"
		}},
		{name: "HTTP_CACHE_CONTROL bad", mutate: func(c *config.Config) { c.HTTPCacheControl = "a.v1.S/Get=max-age=<60>" }, want: []string{"HTTP_CACHE_CONTROL"}},
		{name: "RATE_LIMIT_URL", mutate: func(c *config.Config) { c.RateLimitURL = "redis://:pw@cache:6379/1" }},
		{name: "RATE_LIMIT_URL not redis", mutate: func(c *config.Config) { c.RateLimitURL = "http://cache:6379" }, want: []string{"RATE_LIMIT_URL"}},
		{name: "EMAIL_PROVIDER log in prod", prod: true, mutate: func(c *config.Config) { c.EmailProvider = "log" }, want: []string{"EMAIL_PROVIDER"}},
		{name: "SMS_PROVIDER log in prod", prod: true, mutate: func(c *config.Config) { c.SMSProvider = "log" }, want: []string{"SMS_PROVIDER"}},
		{name: "EMAIL_PROVIDER unknown", mutate: func(c *config.Config) { c.EmailProvider = "sendgrid" }, want: []string{"EMAIL_PROVIDER"}},
		{name: "SMS_PROVIDER unknown", mutate: func(c *config.Config) { c.SMSProvider = "twilio" }, want: []string{"SMS_PROVIDER"}},
		{name: "providers none", mutate: func(c *config.Config) { c.EmailProvider, c.SMSProvider = "", "" }},

		{name: "smtp complete in dev", mutate: withSMTP(nil)},
		{name: "smtp complete in prod", prod: true, mutate: withSMTP(nil)},
		{name: "smtp with credentials", prod: true, mutate: withSMTP(func(c *config.Config) { c.SMTPUsername, c.SMTPPassword = "mailer", "pw" })},
		{name: "smtp implicit TLS", prod: true, mutate: withSMTP(func(c *config.Config) { c.SMTPTLS, c.SMTPPort = "tls", 465 })},
		{name: "smtp IPv6 host", mutate: withSMTP(func(c *config.Config) { c.SMTPHost = "2001:db8::25" })},
		{name: "smtp bare From", mutate: withSMTP(func(c *config.Config) { c.SMTPFrom = "no-reply@example.com" })},
		{name: "SMTP_HOST missing", mutate: withSMTP(func(c *config.Config) { c.SMTPHost = "" }), want: []string{"SMTP_HOST"}},
		{name: "SMTP_HOST with port", mutate: withSMTP(func(c *config.Config) { c.SMTPHost = "smtp.example.com:587" }), want: []string{"SMTP_HOST"}},
		{name: "SMTP_HOST URL", mutate: withSMTP(func(c *config.Config) { c.SMTPHost = "smtp://smtp.example.com" }), want: []string{"SMTP_HOST"}},
		{name: "SMTP_FROM missing", mutate: withSMTP(func(c *config.Config) { c.SMTPFrom = "" }), want: []string{"SMTP_FROM"}},
		{name: "SMTP_FROM not an address", mutate: withSMTP(func(c *config.Config) { c.SMTPFrom = "Example" }), want: []string{"SMTP_FROM"}},
		{name: "SMTP_HOST and SMTP_FROM missing", mutate: withSMTP(func(c *config.Config) { c.SMTPHost, c.SMTPFrom = "", "" }), want: []string{"SMTP_FROM", "SMTP_HOST"}},
		{name: "SMTP_USERNAME without password", mutate: withSMTP(func(c *config.Config) { c.SMTPUsername = "mailer" }), want: []string{"SMTP_PASSWORD"}},
		{name: "SMTP_PASSWORD without username", mutate: withSMTP(func(c *config.Config) { c.SMTPPassword = "pw" }), want: []string{"SMTP_USERNAME"}},
		{name: "SMTP_PORT zero", mutate: withSMTP(func(c *config.Config) { c.SMTPPort = 0 }), want: []string{"SMTP_PORT"}},
		{name: "SMTP_PORT too large", mutate: func(c *config.Config) { c.SMTPPort = 65536 }, want: []string{"SMTP_PORT"}},
		{name: "SMTP_TLS unknown", mutate: func(c *config.Config) { c.SMTPTLS = "ssl" }, want: []string{"SMTP_TLS"}},
		{name: "SMTP_TLS none in dev", mutate: withSMTP(func(c *config.Config) { c.SMTPTLS = "none" })},
		{name: "SMTP_TLS none in prod", prod: true, mutate: withSMTP(func(c *config.Config) { c.SMTPTLS = "none" }), want: []string{"SMTP_TLS"}},
		{name: "SMTP_TLS none in prod on localhost", prod: true, mutate: withSMTP(func(c *config.Config) { c.SMTPTLS, c.SMTPHost = "none", "localhost" })},
		{name: "SMTP_TLS none in prod on 127.0.0.1", prod: true, mutate: withSMTP(func(c *config.Config) { c.SMTPTLS, c.SMTPHost = "none", "127.0.0.1" })},
		{name: "SMTP_TLS none in prod on ::1", prod: true, mutate: withSMTP(func(c *config.Config) { c.SMTPTLS, c.SMTPHost = "none", "::1" })},
		{
			name:   "SMTP_TLS none with credentials over the network",
			mutate: withSMTP(func(c *config.Config) { c.SMTPTLS, c.SMTPUsername, c.SMTPPassword = "none", "mailer", "pw" }),
			want:   []string{"SMTP_TLS"},
		},
		{
			name: "SMTP_TLS none with credentials on loopback",
			mutate: withSMTP(func(c *config.Config) {
				c.SMTPTLS, c.SMTPHost, c.SMTPUsername, c.SMTPPassword = "none", "127.0.0.1", "mailer", "pw"
			}),
		},
		{name: "SMTP keys ignored without smtp", prod: true, mutate: func(c *config.Config) { c.SMTPTLS, c.SMTPUsername = "none", "mailer" }},

		{name: "http SMS complete in dev", mutate: withSMSHTTP(nil)},
		{name: "http SMS complete in prod", prod: true, mutate: withSMSHTTP(nil)},
		{name: "http SMS without SMS_FROM", prod: true, mutate: withSMSHTTP(func(c *config.Config) { c.SMSFrom = "" })},
		{name: "http SMS plain http in dev", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "http://127.0.0.1:4010/sms" })},
		{name: "SMS_HTTP_URL http in prod", prod: true, mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "http://sms.example.com/v1" }), want: []string{"SMS_HTTP_URL"}},
		{name: "SMS_HTTP_URL missing", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "" }), want: []string{"SMS_HTTP_URL"}},
		{name: "SMS_HTTP_URL relative", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "/v1/messages" }), want: []string{"SMS_HTTP_URL"}},
		{name: "SMS_HTTP_URL no host", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "https:///v1" }), want: []string{"SMS_HTTP_URL"}},
		{name: "SMS_HTTP_URL other scheme", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "ftp://sms.example.com/" }), want: []string{"SMS_HTTP_URL"}},
		{name: "SMS_HTTP_URL unparsable", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "https://sms.example.com:port/" }), want: []string{"SMS_HTTP_URL"}},
		{name: "SMS_HTTP_URL with credentials", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPURL = "https://u:p@sms.example.com/" }), want: []string{"SMS_HTTP_URL"}},
		{name: "SMS_HTTP_TOKEN missing", mutate: withSMSHTTP(func(c *config.Config) { c.SMSHTTPToken = "" }), want: []string{"SMS_HTTP_TOKEN"}},
		{
			name:   "http SMS without any key",
			mutate: func(c *config.Config) { c.SMSProvider = "http" },
			want:   []string{"SMS_HTTP_TOKEN", "SMS_HTTP_URL"},
		},
		{name: "SMS keys ignored without http", prod: true, mutate: func(c *config.Config) { c.SMSHTTPURL = "ftp://x" }},

		{name: "TRUSTED_PROXIES valid", mutate: func(c *config.Config) { c.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.1", "::1", "fd00::/8"} }},
		{name: "TRUSTED_PROXIES bad prefix", mutate: func(c *config.Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }, want: []string{"TRUSTED_PROXIES"}},
		{name: "TRUSTED_PROXIES hostname", mutate: func(c *config.Config) { c.TrustedProxies = []string{"proxy.local"} }, want: []string{"TRUSTED_PROXIES"}},

		{
			name:   "every problem is reported",
			prod:   true,
			mutate: func(c *config.Config) { c.HTTPPort, c.LogFormat, c.SwaggerEnabled = -1, "xml", true },
			want:   []string{"HTTP_PORT", "LOG_FORMAT", "SWAGGER_ENABLED"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			cfg, report := loaded(t, tt.prod)
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}

			err := cfg.Validate(defaulted(report, tt.defaulted...))
			if diff := cmp.Diff(tt.want, errorKeys(err)); diff != "" {
				t.Errorf("Validate() = %v; keys mismatch (-want +got):\n%s", err, diff)
			}

			if len(keyErrors(err)) == 0 && err != nil {
				t.Errorf("Validate() = %v, want only *config.KeyError", err)
			}
		})
	}
}

// withSMTP returns a mutation selecting a complete SMTP email provider, then
// applying more (nil for none).
func withSMTP(more func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.EmailProvider, c.SMTPHost, c.SMTPFrom = "smtp", "smtp.example.com", "Example <no-reply@example.com>"
		if more != nil {
			more(c)
		}
	}
}

// withSMSHTTP returns a mutation selecting a complete HTTP SMS provider,
// then applying more (nil for none).
func withSMSHTTP(more func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.SMSProvider, c.SMSHTTPURL, c.SMSHTTPToken, c.SMSFrom = "http", "https://sms.example.com/v1/messages", "t0ken", "+14155550199"
		if more != nil {
			more(c)
		}
	}
}

func TestValidateErrorCarriesSource(t *testing.T) {
	t.Parallel()

	cfg, report := loaded(t, true)
	cfg.LogLevel = "loud"

	err := cfg.Validate(defaulted(report, "DB_DSN"))

	want := []*config.KeyError{
		{Key: "LOG_LEVEL", Source: config.SourceDefault},
		{Key: "DB_DSN", Source: config.SourceDefault},
	}
	if diff := cmp.Diff(want, keyErrors(err), cmp.FilterPath(isErrField, cmp.Ignore())); diff != "" {
		t.Errorf("Validate() = %v; mismatch (-want +got):\n%s", err, diff)
	}
}

func TestValidateWithoutReportRequiresProdKeys(t *testing.T) {
	t.Parallel()

	cfg, _ := loaded(t, true)

	err := cfg.Validate(config.Report{})
	if diff := cmp.Diff([]string{"DB_DSN", "JWT_SECRET"}, errorKeys(err)); diff != "" {
		t.Errorf("Validate(Report{}) = %v; keys mismatch (-want +got):\n%s", err, diff)
	}
}

// TestValidateWeakSecretSaysHowToGenerate checks the refusal of a weak
// prod JWT_SECRET tells the operator how to make a good one.
func TestValidateWeakSecretSaysHowToGenerate(t *testing.T) {
	t.Parallel()

	cfg, report := loaded(t, true)
	cfg.JWTSecret = strings.Repeat("a", 32)

	err := cfg.Validate(report)
	if err == nil || !strings.Contains(err.Error(), "openssl rand -base64 48") {
		t.Errorf("Validate(32 × a) = %v, want an error that says to run openssl rand -base64 48", err)
	}
}
