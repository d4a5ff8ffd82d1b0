package routepolicy

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/ratelimit"
	"github.com/modulith/modulith/internal/reqmeta"
)

// Config is the policies' configuration, as written in RATE_LIMITS,
// ROUTE_ROLES and HTTP_CACHE_CONTROL.
type Config struct {
	RateLimits   string
	RouteRoles   string
	CacheControl string
}

// Deps are what a Policy needs besides its Config.
type Deps struct {
	// Limiter keeps the buckets (ratelimit.Local or ratelimit.Redis).
	Limiter ratelimit.Limiter
	// Tokens reads the caller of HTTP requests charged before any gRPC
	// call (/graphql, /ws) from their bearer token.
	Tokens TokenParser
	Logger *slog.Logger
	Meter  metric.Meter
}

// TokenParser verifies an access token (authn.Tokens).
type TokenParser interface {
	ParseAccess(token string) (*authn.Claims, error)
}

// Policy applies the route policies: Middleware at the HTTP edge, the
// interceptors in the gRPC chain, Cache on the REST gateway.
type Policy struct {
	limits   Rules[ratelimit.Limit]
	roles    Rules[[]string]
	cache    Rules[string]
	limiter  ratelimit.Limiter
	tokens   TokenParser
	logger   *slog.Logger
	rejected metric.Int64Counter
}

// New returns the policy of cfg; cfg must be valid (config.Validate
// checks it).
func New(cfg Config, d Deps) (*Policy, error) {
	limits, err := ParseLimits(cfg.RateLimits)
	if err != nil {
		return nil, fmt.Errorf("RATE_LIMITS: %w", err)
	}

	roles, err := ParseRoles(cfg.RouteRoles)
	if err != nil {
		return nil, fmt.Errorf("ROUTE_ROLES: %w", err)
	}

	cache, err := ParseCacheControl(cfg.CacheControl)
	if err != nil {
		return nil, fmt.Errorf("HTTP_CACHE_CONTROL: %w", err)
	}

	rejected, err := d.Meter.Int64Counter("ratelimit.rejected",
		metric.WithDescription("Requests refused for exceeding a rate limit, by rule."))
	if err != nil {
		return nil, fmt.Errorf("ratelimit metric: %w", err)
	}

	return &Policy{
		limits: limits, roles: roles, cache: cache, limiter: d.Limiter, tokens: d.Tokens,
		logger: d.Logger, rejected: rejected,
	}, nil
}

// result is a rate-limit decision under one rule.
type result struct {
	rule  string
	limit ratelimit.Limit
	ratelimit.Decision
}

// limit charges the rule of route to caller, once per scope when s is
// not nil, and records the result there. It returns the result (ok false
// when no rule applies or it was already charged) and a RateLimited error
// when the caller is over the limit.
func (p *Policy) limit(ctx context.Context, s *scope, route, caller string) (result, bool, error) {
	pattern, lim, ok := p.limits.Match(route)
	if !ok || lim == (ratelimit.Limit{}) {
		return result{}, false, nil
	}

	if s != nil && !s.charge(pattern) {
		// Charged already: a refusal stands for the request's other calls
		// under the rule (GraphQL fields), without a second charge.
		if r, refused := s.refusal(pattern); refused {
			return r, true, refusedError(r)
		}

		return result{}, false, nil
	}

	d, err := p.limiter.Allow(ctx, pattern+"|"+caller, lim)
	if err != nil {
		// Only an invalid limit fails, which New rules out; the request
		// passes rather than failing for the platform's fault.
		p.logger.ErrorContext(ctx, "rate limit: no decision", "rule", pattern, "error", err)

		return result{}, false, nil
	}

	r := result{rule: pattern, limit: lim, Decision: d}
	if s != nil {
		s.record(r)
	}

	if d.Allowed {
		return r, true, nil
	}

	p.rejected.Add(ctx, 1, metric.WithAttributes(attribute.String("rule", pattern)))

	return r, true, refusedError(r)
}

// refusedError is the error of a refusal: RATE_LIMITED, naming the rule.
func refusedError(r result) error {
	return errors.RateLimited("rate limit exceeded; retry later", r.RetryAfter,
		errors.WithDetail("rule", r.rule), errors.WithDetail("limit", r.limit.String()))
}

// callerOf is the rate-limit key of the caller of ctx: its user once
// authenticated, else its IP address.
func callerOf(ctx context.Context) string {
	if id, ok := authn.FromContext(ctx); ok {
		return "user:" + id.UserID
	}

	return "ip:" + reqmeta.ClientIP(ctx)
}

// requireRoles fails unless the caller of ctx has a role route's rule asks
// for, if any.
func (p *Policy) requireRoles(ctx context.Context, route string) error {
	_, roles, ok := p.roles.Match(route)
	if !ok {
		return nil
	}

	id, ok := authn.FromContext(ctx)
	if !ok {
		return errors.Unauthorized("authentication required")
	}

	for _, r := range roles {
		if id.Role == r {
			return nil
		}
	}

	return errors.Forbidden("permission denied", errors.WithDetail("route", route))
}

// Header values of draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy
// lists each rule as a quota q per window w (seconds); RateLimit tells the
// remaining quota r and the seconds t until it is whole again. The window
// of a bucket of Burst tokens is the time it takes to fill.
func policyHeader(rs []result) string {
	items := make([]string, len(rs))
	for i, r := range rs {
		window := time.Duration(r.limit.Burst) * (r.limit.Period / time.Duration(r.limit.Count))
		items[i] = fmt.Sprintf("%s;q=%d;w=%d", strconv.Quote(r.rule), r.limit.Burst, seconds(window))
	}

	return strings.Join(items, ", ")
}

func rateLimitHeader(rs []result) string {
	items := make([]string, len(rs))
	for i, r := range rs {
		items[i] = fmt.Sprintf("%s;r=%d;t=%d", strconv.Quote(r.rule), r.Remaining, seconds(r.ResetAfter))
	}

	return strings.Join(items, ", ")
}

// retryAfter is the longest wait among the refusals of rs, 0 if none.
func retryAfter(rs []result) time.Duration {
	var d time.Duration

	for _, r := range rs {
		if !r.Allowed {
			d = max(d, r.RetryAfter)
		}
	}

	return d
}

// seconds rounds d up to whole seconds, as the headers count.
func seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}
