package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
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

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}

	var base, rest result

	b.Run("baseline-net-http-pgx", func(b *testing.B) {
		base = measure(b, restCall(client, baseURL, token))
		base.report(b, result{})
	})
	b.Run("rest", func(b *testing.B) {
		rest = measure(b, restCall(client, p.httpURL, token))
		rest.report(b, base)
	})
	b.Run("rest-no-session-cache", func(b *testing.B) {
		r := measure(b, restCall(client, uncached.httpURL, uncachedToken))
		r.report(b, base)

		if rest.requests > 0 {
			b.ReportMetric(rest.perSecond()/r.perSecond(), "x-session-cache")
		}
	})
	b.Run("graphql", func(b *testing.B) {
		r := measure(b, graphQLCall(client, p.httpURL, token))
		r.report(b, base)

		if rest.requests > 0 {
			b.ReportMetric(r.perSecond()/rest.perSecond(), "x-rest")
		}
	})
	b.Run("grpc", func(b *testing.B) {
		measure(b, grpcCall(b, p.grpcAddr, token)).report(b, base)
	})
}

func restCall(client *http.Client, base, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/auth/profile", nil)
		if err != nil {
			return err
		}

		req.Header.Set("Authorization", "Bearer "+token)

		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()

		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}

		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s/v1/auth/profile: %d", base, resp.StatusCode)
		}

		return nil
	}
}

// profileQuery asks for the fields GET /v1/auth/profile returns.
const profileQuery = `{"query":"{ me { id email phone displayName role createTime updateTime } }"}`

func graphQLCall(client *http.Client, base, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", strings.NewReader(profileQuery))
		if err != nil {
			return err
		}

		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")

		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()

		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}

		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"me":{`)) {
			return fmt.Errorf("POST %s/graphql: %d %s", base, resp.StatusCode, body)
		}

		return nil
	}
}

func grpcCall(b *testing.B, addr, token string) func(context.Context) error {
	b.Helper()

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() { _ = conn.Close() })

	client := authv1.NewAuthServiceClient(conn)
	md := metadata.Pairs("authorization", "Bearer "+token)

	return func(ctx context.Context) error {
		_, err := client.GetProfile(metadata.NewOutgoingContext(ctx, md), &authv1.GetProfileRequest{})

		return err
	}
}
