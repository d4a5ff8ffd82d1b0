package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is the platform configuration every process reads.
type Config struct {
	Env                  string        `yaml:"env" env:"ENV" default:"dev"` // dev | prod
	ServiceName          string        `yaml:"service_name" env:"SERVICE_NAME" default:"modulith"`
	BindHost             string        `yaml:"bind_host" env:"BIND_HOST" default:""`     // listen host; "" = all interfaces
	HTTPPort             int           `yaml:"http_port" env:"HTTP_PORT" default:"8080"` // 0 = any free port
	GRPCPort             int           `yaml:"grpc_port" env:"GRPC_PORT" default:"9090"`
	AdminPort            int           `yaml:"admin_port" env:"ADMIN_PORT" default:"9100"`                               // /metrics, /healthz/ws, pprof; 0 = any free port
	AdminBindHost        string        `yaml:"admin_bind_host" env:"ADMIN_BIND_HOST" default:"" proddefault:"127.0.0.1"` // admin listen host; "" = all interfaces
	PprofEnabled         bool          `yaml:"pprof_enabled" env:"PPROF_ENABLED" default:"true" proddefault:"false"`     // /debug/pprof/ on the admin listener
	DBDSN                string        `yaml:"db_dsn" env:"DB_DSN" default:"postgres://postgres:postgres@127.0.0.1:5432/modulith?sslmode=disable" secret:"dsn"`
	DBMaxConns           int32         `yaml:"db_max_conns" env:"DB_MAX_CONNS" default:"25"`
	DBMinConns           int32         `yaml:"db_min_conns" env:"DB_MIN_CONNS" default:"2"`
	DBConnMaxLifetime    time.Duration `yaml:"db_conn_max_lifetime" env:"DB_CONN_MAX_LIFETIME" default:"30m"`
	JWTSecret            string        `yaml:"jwt_secret" env:"JWT_SECRET" secret:"true"`
	JWTIssuer            string        `yaml:"jwt_issuer" env:"JWT_ISSUER" default:"modulith"`
	JWTAudience          string        `yaml:"jwt_audience" env:"JWT_AUDIENCE" default:"modulith"`
	LogLevel             string        `yaml:"log_level" env:"LOG_LEVEL" default:"debug" proddefault:"info"`  // debug|info|warn|error
	LogFormat            string        `yaml:"log_format" env:"LOG_FORMAT" default:"text" proddefault:"json"` // text|json
	LogSlowRequest       time.Duration `yaml:"log_slow_request" env:"LOG_SLOW_REQUEST" default:"500ms"`
	LogSkipPaths         []string      `yaml:"log_skip_paths" env:"LOG_SKIP_PATHS" default:"/livez,/healthz,/readyz,/metrics"`
	RequestTimeout       time.Duration `yaml:"request_timeout" env:"REQUEST_TIMEOUT" default:"30s"`
	RequestReadTimeout   time.Duration `yaml:"request_read_timeout" env:"REQUEST_READ_TIMEOUT" default:"15s"` // a request body must arrive within this (408)
	ShutdownTimeout      time.Duration `yaml:"shutdown_timeout" env:"SHUTDOWN_TIMEOUT" default:"30s"`
	ShutdownDelay        time.Duration `yaml:"shutdown_delay" env:"SHUTDOWN_DELAY" default:"0s" proddefault:"5s"` // how long /readyz reports 503 before listeners close
	MigrateOnStart       bool          `yaml:"migrate_on_start" env:"MIGRATE_ON_START" default:"true"`
	CORSAllowedOrigins   []string      `yaml:"cors_allowed_origins" env:"CORS_ALLOWED_ORIGINS" default:"http://localhost:3000,http://localhost:5173" proddefault:""`
	CORSAllowCredentials bool          `yaml:"cors_allow_credentials" env:"CORS_ALLOW_CREDENTIALS" default:"false"`
	MaxBodyBytes         int64         `yaml:"max_body_bytes" env:"MAX_BODY_BYTES" default:"1048576"`
	SwaggerEnabled       bool          `yaml:"swagger_enabled" env:"SWAGGER_ENABLED" default:"true" proddefault:"false"`
	GRPCReflection       bool          `yaml:"grpc_reflection" env:"GRPC_REFLECTION" default:"true" proddefault:"false"`
	// GraphQL serves /graphql (the modules' schema over HTTP and
	// WebSocket); its playground (GraphiQL) and introspection are for dev.
	GraphQLEnabled       bool   `yaml:"graphql_enabled" env:"GRAPHQL_ENABLED" default:"true"`
	GraphQLPlayground    bool   `yaml:"graphql_playground" env:"GRAPHQL_PLAYGROUND" default:"true" proddefault:"false"`
	GraphQLIntrospection bool   `yaml:"graphql_introspection" env:"GRAPHQL_INTROSPECTION" default:"true" proddefault:"false"`
	GraphQLMaxDepth      int    `yaml:"graphql_max_depth" env:"GRAPHQL_MAX_DEPTH" default:"10"`
	GraphQLMaxComplexity int    `yaml:"graphql_max_complexity" env:"GRAPHQL_MAX_COMPLEXITY" default:"250"`
	GraphQLAllowList     string `yaml:"graphql_allowlist" env:"GRAPHQL_ALLOWLIST"` // file of the only operations that run (persisted queries)
	// GRPCMaxConnectionAge closes each gRPC client connection after about
	// this long (GOAWAY; calls in flight get REQUEST_TIMEOUT to finish), so
	// that clients balancing over DNS resolve again and reach new replicas.
	GRPCMaxConnectionAge time.Duration `yaml:"grpc_max_connection_age" env:"GRPC_MAX_CONNECTION_AGE" default:"5m"` // 0 = never
	TrustedProxies       []string      `yaml:"trusted_proxies" env:"TRUSTED_PROXIES" default:""`                   // CIDRs whose X-Forwarded-For is believed
	EmailProvider        string        `yaml:"email_provider" env:"EMAIL_PROVIDER" default:"log" proddefault:""`   // "" (none) | "log" (dev only) | "smtp"
	SMTPHost             string        `yaml:"smtp_host" env:"SMTP_HOST"`
	SMTPPort             int           `yaml:"smtp_port" env:"SMTP_PORT" default:"587"`
	SMTPUsername         string        `yaml:"smtp_username" env:"SMTP_USERNAME"` // with SMTP_PASSWORD, or neither
	SMTPPassword         string        `yaml:"smtp_password" env:"SMTP_PASSWORD" secret:"true"`
	SMTPFrom             string        `yaml:"smtp_from" env:"SMTP_FROM"`                                    // "Name <addr@example.com>" or a bare address
	SMTPTLS              string        `yaml:"smtp_tls" env:"SMTP_TLS" default:"starttls"`                   // starttls | tls (implicit) | none (loopback or dev)
	SMSProvider          string        `yaml:"sms_provider" env:"SMS_PROVIDER" default:"log" proddefault:""` // "" (none) | "log" (dev only) | "http"
	SMSHTTPURL           string        `yaml:"sms_http_url" env:"SMS_HTTP_URL"`                              // the JSON endpoint; https in prod
	SMSHTTPToken         string        `yaml:"sms_http_token" env:"SMS_HTTP_TOKEN" secret:"true"`
	SMSFrom              string        `yaml:"sms_from" env:"SMS_FROM"` // sender number or name, as the gateway accepts it
	// RemoteModules names the modules that run in another process, as
	// module=host:port or module=dns:///host:port entries (the latter
	// balances calls over every address the name resolves to, e.g. a
	// Kubernetes headless Service's pods): this process does not run them,
	// and calls them over the network. Every other module is called in
	// process.
	RemoteModules []string      `yaml:"remote_modules" env:"REMOTE_MODULES" default:""`
	RemoteTimeout time.Duration `yaml:"remote_timeout" env:"REMOTE_TIMEOUT" default:"10s"` // per call to a remote module, when the caller set no earlier deadline
	RemoteRetries int           `yaml:"remote_retries" env:"REMOTE_RETRIES" default:"3"`   // retries of a call a remote module answered Unavailable (at most 4)
	// Calls that leave the process (remote modules, SMTP, SMS, outbound
	// HTTP) go through a circuit breaker per destination: it opens after
	// BREAKER_FAILURES consecutive failures and answers Unavailable at
	// once until, BREAKER_COOLDOWN later, a trial call succeeds. Sends
	// and idempotent HTTP requests are retried OUTBOUND_RETRIES times
	// after a transient failure, with exponential backoff and jitter.
	BreakerFailures int           `yaml:"breaker_failures" env:"BREAKER_FAILURES" default:"5"`
	BreakerCooldown time.Duration `yaml:"breaker_cooldown" env:"BREAKER_COOLDOWN" default:"10s"`
	OutboundRetries int           `yaml:"outbound_retries" env:"OUTBOUND_RETRIES" default:"2"`
	// Route policies (internal/routepolicy), per gRPC method alike over
	// gRPC, REST and GraphQL: rate limits per caller, required roles, and
	// the Cache-Control of the REST gateway's GET answers.
	RateLimits       string `yaml:"rate_limits" env:"RATE_LIMITS" default:"default=100/s,auth.v1.AuthService/RequestLogin=20/s,auth.v1.AuthService/CompleteLogin=20/s"` // pattern=COUNT/UNIT[:BURST]|off, comma-separated; "" = none
	RateLimitURL     string `yaml:"rate_limit_url" env:"RATE_LIMIT_URL" secret:"dsn"`                                                                                   // redis:// or rediss:// shared by the replicas; "" = each replica alone
	RouteRoles       string `yaml:"route_roles" env:"ROUTE_ROLES"`                                                                                                      // pattern=role[|role…], comma-separated
	HTTPCacheControl string `yaml:"http_cache_control" env:"HTTP_CACHE_CONTROL"`                                                                                        // pattern=directives, semicolon-separated
	// CacheURL is the Redis/Valkey server (redis:// or rediss://) that
	// shares the modules' caches and carries their invalidations; empty
	// keeps caches in memory, invalidated over PostgreSQL (docs/CACHE.md).
	CacheURL    string `yaml:"cache_url" env:"CACHE_URL" secret:"dsn"`
	CachePrefix string `yaml:"cache_prefix" env:"CACHE_PREFIX" default:"modulith:"` // of the keys and channels in CACHE_URL
	// SessionCacheTTL is how long a replica keeps a session check in
	// memory; a session that ends is forgotten by every replica before the
	// request that ended it returns. 0 checks every request in the database.
	SessionCacheTTL time.Duration `yaml:"session_cache_ttl" env:"SESSION_CACHE_TTL" default:"30s"`
	// FeatureReloadInterval is how often each process reloads the feature
	// flags even without a change notification: the bound on how stale a
	// flag can be if a notification is lost.
	FeatureReloadInterval time.Duration `yaml:"feature_reload_interval" env:"FEATURE_RELOAD_INTERVAL" default:"30s"`

	// The platform secret (JWT_SECRET) comes from SECRETS_PROVIDER
	// (internal/secrets): env reads JWT_SECRET and JWT_SECRET_PREVIOUS once;
	// file and vault re-read it every SECRETS_TTL, so that a rotation needs
	// no restart. A previous secret still verifies tokens and opens events
	// signed and sealed under it, until it is removed.
	SecretsProvider       string        `yaml:"secrets_provider" env:"SECRETS_PROVIDER" default:"env"` // env | file | vault
	SecretsTTL            time.Duration `yaml:"secrets_ttl" env:"SECRETS_TTL" default:"1m"`
	JWTSecretPrevious     string        `yaml:"jwt_secret_previous" env:"JWT_SECRET_PREVIOUS" secret:"true"`
	JWTSecretFile         string        `yaml:"jwt_secret_file" env:"JWT_SECRET_FILE"`                   // file: e.g. a mounted Kubernetes Secret's key
	JWTSecretPreviousFile string        `yaml:"jwt_secret_previous_file" env:"JWT_SECRET_PREVIOUS_FILE"` // file: optional; a missing file is no previous secret
	VaultAddr             string        `yaml:"vault_addr" env:"VAULT_ADDR"`
	VaultToken            string        `yaml:"vault_token" env:"VAULT_TOKEN" secret:"true"`
	VaultTokenFile        string        `yaml:"vault_token_file" env:"VAULT_TOKEN_FILE"` // re-read before each read (Vault Agent's sink)
	VaultNamespace        string        `yaml:"vault_namespace" env:"VAULT_NAMESPACE"`
	VaultMount            string        `yaml:"vault_mount" env:"VAULT_MOUNT" default:"secret"` // the KV v2 engine's mount
	VaultPath             string        `yaml:"vault_path" env:"VAULT_PATH"`                    // the secret holding jwt_secret (and jwt_secret_previous)
	VaultCACert           string        `yaml:"vault_cacert" env:"VAULT_CACERT"`
	VaultClientCert       string        `yaml:"vault_client_cert" env:"VAULT_CLIENT_CERT"`
	VaultClientKey        string        `yaml:"vault_client_key" env:"VAULT_CLIENT_KEY"`
	VaultTLSServerName    string        `yaml:"vault_tls_server_name" env:"VAULT_TLS_SERVER_NAME"`
	VaultTimeout          time.Duration `yaml:"vault_timeout" env:"VAULT_TIMEOUT" default:"10s"` // per request to Vault
}

// TrustedProxyPrefixes returns TrustedProxies as prefixes, a bare address
// as a prefix of one address; Validate has checked the entries.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))

	for _, entry := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(entry); err == nil {
			out = append(out, p.Masked())
		} else if addr, err := netip.ParseAddr(entry); err == nil {
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
		}
	}

	return out
}

// Remotes returns RemoteModules as module → address; Validate has checked
// the entries.
func (c *Config) Remotes() map[string]string {
	out := make(map[string]string, len(c.RemoteModules))

	for _, entry := range c.RemoteModules {
		if name, addr, ok := remoteEntry(entry); ok {
			out[name] = addr
		}
	}

	return out
}

// remoteEntry splits a module=target entry of REMOTE_MODULES.
func remoteEntry(entry string) (name, addr string, ok bool) {
	name, addr, ok = strings.Cut(entry, "=")

	return strings.TrimSpace(name), strings.TrimSpace(addr), ok
}

// DevJWTSecret signs tokens in dev when JWT_SECRET is unset, so that a fresh
// checkout starts without setup. Validate refuses it in prod. It is public on
// purpose (.golangci.yml excludes it, alone, from gosec's hardcoded
// credentials rule).
const DevJWTSecret = "dev-only-jwt-secret-do-not-use-in-production-0123456789"

// Load reads the platform configuration from the layers and validates it.
// When ENV=dev, SECRETS_PROVIDER=env and JWT_SECRET is unset it uses
// DevJWTSecret and adds a warning saying so. It returns the layers too:
// modules load their own sections from them.
func Load(files Files, getenv func(string) string) (*Config, *Layers, Report, error) {
	layers, err := NewLayers(files, getenv)
	if err != nil {
		return nil, nil, Report{}, err
	}

	var cfg Config

	report, err := layers.Load("", &cfg)
	if err != nil {
		return nil, nil, Report{}, err
	}

	if cfg.IsDev() && cfg.SecretsProvider == SecretsEnv && report.Source("JWT_SECRET") == SourceDefault {
		cfg.JWTSecret = DevJWTSecret
		report.setValue("JWT_SECRET", redactSecret(DevJWTSecret))
		report.Warnings = append(report.Warnings,
			"JWT_SECRET is unset: using the built-in development secret, which ENV=prod refuses")
	}

	if err := cfg.Validate(report); err != nil {
		return nil, nil, Report{}, err
	}

	return &cfg, layers, report, nil
}

// IsDev reports whether the process runs in the dev profile.
func (c *Config) IsDev() bool { return c.Env == envDev }

// HTTPAddr is the HTTP listen address.
func (c *Config) HTTPAddr() string { return net.JoinHostPort(c.BindHost, strconv.Itoa(c.HTTPPort)) }

// AdminAddr is the listen address of the operational endpoints.
func (c *Config) AdminAddr() string {
	return net.JoinHostPort(c.AdminBindHost, strconv.Itoa(c.AdminPort))
}

// GRPCAddr is the gRPC listen address.
func (c *Config) GRPCAddr() string { return net.JoinHostPort(c.BindHost, strconv.Itoa(c.GRPCPort)) }
