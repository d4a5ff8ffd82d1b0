package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.jetify.com/typeid"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/modules"
)

const concurrency = 16

// secret signs the servers' tokens: random, as prod requires.
var secret = rand.Text() + rand.Text()

// freePort returns a port nothing listens on right now.
func freePort(b *testing.B) string {
	b.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()

	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// platform is the server under test, started through the same command line
// as main, with production settings and its logs discarded.
type platform struct {
	httpURL, grpcAddr string
	db                *pgtest.Database
}

// startPlatform starts the server on a database of its own; more are
// environment variables (name, value, …) on top of the production
// settings.
func startPlatform(b *testing.B, more ...string) *platform {
	b.Helper()

	db := pgtest.NewDatabase(b, registry.MigrationSources(modules.All())...)
	httpPort, grpcPort := freePort(b), freePort(b)
	env := map[string]string{
		"ENV": "prod", "DB_DSN": db.DSN, "JWT_SECRET": secret, "BIND_HOST": "127.0.0.1",
		"HTTP_PORT": httpPort, "GRPC_PORT": grpcPort, "ADMIN_PORT": "0", "SHUTDOWN_DELAY": "0s",
		// One client drives thousands of requests a second: the default
		// rate limits would measure 429s.
		"RATE_LIMITS": "default=off",
	}

	for i := 0; i+1 < len(more); i += 2 {
		env[more[i]] = more[i+1]
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)

	go func() {
		done <- commands.Run(ctx, commands.Server(modules.All(), modules.GraphQL), nil, func(k string) string { return env[k] }, io.Discard)
	}()

	b.Cleanup(func() {
		cancel()

		if err := <-done; err != nil {
			b.Errorf("server: %v", err)
		}
	})

	p := &platform{httpURL: "http://127.0.0.1:" + httpPort, grpcAddr: "127.0.0.1:" + grpcPort, db: db}
	if err := waitReady(p.httpURL, done); err != nil {
		b.Fatal(err)
	}

	return p
}

func waitReady(base string, done <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)

	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("server exited: %w", err)
		default:
		}

		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()

			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}

		time.Sleep(50 * time.Millisecond)
	}

	return fmt.Errorf("server not ready within 30s")
}

// signIn creates a user and a live session directly in the database and
// mints an access token for it, as CompleteLogin would.
func signIn(b *testing.B, p *platform) string {
	b.Helper()

	userID, _ := typeid.WithPrefix("user")
	sessionID, _ := typeid.WithPrefix("sess")
	now := time.Now().UTC()
	ctx := context.Background()

	_, err := p.db.Pool.Exec(ctx, `INSERT INTO auth.users (id, email, display_name, role, created_at, updated_at)
		VALUES ($1, 'bench@example.com', 'Bench', 'user', $2, $2)`, userID.String(), now)
	if err == nil {
		_, err = p.db.Pool.Exec(ctx, `INSERT INTO auth.sessions (id, user_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4)`, sessionID.String(), userID.String(), now, now.Add(time.Hour))
	}

	if err != nil {
		b.Fatal(err)
	}

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: secrets.Fixed([]byte(secret)), Issuer: "modulith", Audience: "modulith"})
	if err != nil {
		b.Fatal(err)
	}

	token, _, err := tokens.IssueAccess(userID.String(), sessionID.String(), "user", now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}

	return token
}

// result is one measured load run.
type result struct {
	requests int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r result) perSecond() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// report prints the figures and, when a baseline ran, the ratio to it.
func (r result) report(b *testing.B, base result) {
	b.ReportMetric(r.perSecond(), "req/s")
	b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")

	if base.requests > 0 {
		b.ReportMetric(r.perSecond()/base.perSecond(), "x-baseline")
	}
}

// load makes n calls from `concurrency` workers and records their
// latencies; it stops at the first failed call.
func load(n int, call func(context.Context) error) (result, error) {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		all     = make([]time.Duration, 0, n)
		wg      sync.WaitGroup
		failure atomic.Value
	)

	start := time.Now()

	for range concurrency {
		wg.Go(func() {
			own := make([]time.Duration, 0, n/concurrency+1)
			for next.Add(1) <= int64(n) {
				t0 := time.Now()

				if err := call(context.Background()); err != nil {
					failure.Store(err)

					return
				}

				own = append(own, time.Since(t0))
			}

			mu.Lock()

			all = append(all, own...)
			mu.Unlock()
		})
	}

	wg.Wait()

	elapsed := time.Since(start)

	if err, ok := failure.Load().(error); ok {
		return result{}, err
	}

	slices.Sort(all)

	return result{requests: len(all), elapsed: elapsed, p50: percentile(all, 0.50), p99: percentile(all, 0.99)}, nil
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}

	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
