package bench

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkGetProfile measures an authenticated GetProfile (JWT check,
// session check, user query) against a running server, 16 concurrent
// clients, over REST, gRPC and GraphQL ({ me { … } }, the same fields),
// and the same work in a hand-written net/http + pgx server in the same
// run. GraphQL also reports its ratio to REST (x-rest): what its parsing,
// validation and execution add to the same gRPC call.
//
// REST also runs on a second server without the session cache
// (SESSION_CACHE_TTL=0: a database lookup per request to check the
// session), which reports the cache's gain (x-session-cache: REST's req/s
// with the cache over without).
//
// Goals: REST ≥ 0.5 x-baseline, gRPC ≥ 0.8 x-baseline, GraphQL ≥ 0.8 x-rest.
func BenchmarkGetProfile(b *testing.B) {
	p := startPlatform(b)
	token := signIn(b, p)
	uncached := startPlatform(b, "SESSION_CACHE_TTL", "0s")
	uncachedToken := signIn(b, uncached)

	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)

	// The baseline gets a pool sized like the server's (DB_MAX_CONNS default).
	pc, err := pgxpool.ParseConfig(p.db.DSN)
	if err != nil {
		b.Fatal(err)
	}

	pc.MaxConns = 25

	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(pool.Close)

	baseURL, err := serveBaseline(ctx, newBaseline(pool, []byte(secret)))
	if err != nil {
		b.Fatal(err)
	}

	var base, rest result

	b.Run("baseline-net-http-pgx", func(b *testing.B) {
		base = measureFrom(b, "rest", baseURL, token)
		base.report(b, result{})
	})
	b.Run("rest", func(b *testing.B) {
		rest = measureFrom(b, "rest", p.httpURL, token)
		rest.report(b, base)
	})
	b.Run("rest-no-session-cache", func(b *testing.B) {
		r := measureFrom(b, "rest", uncached.httpURL, uncachedToken)
		r.report(b, base)

		if rest.requests > 0 {
			b.ReportMetric(rest.perSecond()/r.perSecond(), "x-session-cache")
		}
	})
	b.Run("graphql", func(b *testing.B) {
		r := measureFrom(b, "graphql", p.httpURL, token)
		r.report(b, base)

		if rest.requests > 0 {
			b.ReportMetric(r.perSecond()/rest.perSecond(), "x-rest")
		}
	})
	b.Run("grpc", func(b *testing.B) {
		measureFrom(b, "grpc", p.grpcAddr, token).report(b, base)
	})
}
