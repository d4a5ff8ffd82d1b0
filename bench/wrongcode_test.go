package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkWrongCode measures an attacker guessing sign-in codes from one
// address once it is over its limit of checks (AUTH_RATE_VERIFICATIONS_PER_IP
// in AUTH_RATE_WINDOW): POST /v1/auth/login/complete with a wrong code, 16
// concurrent clients in a process of their own, every answer a 429. The
// baseline is a hand-written handler doing what each such attempt cost
// before: count it in the shared PostgreSQL counter of the address (one
// upsert on one row, which concurrent attempts queue on), then refuse.
// Both report the counter writes per attempt (writes/op).
//
// Goals: ≥ 3 x-baseline; 0 writes/op.
func BenchmarkWrongCode(b *testing.B) {
	p := startPlatform(b)

	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)

	pool, err := pgxpool.New(ctx, p.db.DSN)
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(pool.Close)

	baseURL, err := serveBaseline(ctx, counterPerAttempt{pool: pool, limit: 60, window: 15 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}

	var base result

	for _, s := range []struct{ name, url string }{{"baseline-counter-per-attempt", baseURL}, {"rest", p.httpURL}} {
		// Spend the address's budget first: the runs measure attempts over it.
		if err := spendBudget(s.url); err != nil {
			b.Fatal(err)
		}

		b.Run(s.name, func(b *testing.B) {
			before := counted(b, pool)
			r := measureFrom(b, "wrong-code", s.url, "")

			if s.url == baseURL {
				base = r
				r.report(b, result{})
			} else {
				r.report(b, base)
			}

			b.ReportMetric(float64(counted(b, pool)-before)/float64(b.N), "writes/op")
		})
	}
}

// spendBudget makes attempts until one is refused for the rate.
func spendBudget(base string) error {
	client := &http.Client{}
	defer client.CloseIdleConnections()

	for range 1000 {
		status, err := wrongCode(context.Background(), client, base)
		if err != nil {
			return err
		}

		if status == http.StatusTooManyRequests {
			return nil
		}
	}

	return fmt.Errorf("%s: 1000 wrong codes and none refused for the rate", base)
}

// counted is how many hits the rate counters hold.
func counted(b *testing.B, pool *pgxpool.Pool) int64 {
	b.Helper()

	var n int64
	if err := pool.QueryRow(context.Background(), `SELECT coalesce(sum(hits), 0) FROM auth.rate_limits`).Scan(&n); err != nil {
		b.Fatal(err)
	}

	return n
}

// wrongCodeBody is an attempt with a code no one was sent.
const wrongCodeBody = `{"email":"victim@example.com","code":"000000"}`

// wrongCode makes one attempt and returns its status: 401 (a wrong code)
// or 429 (over the limit); anything else is an error.
func wrongCode(ctx context.Context, client *http.Client, base string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/auth/login/complete", strings.NewReader(wrongCodeBody))
	if err != nil {
		return 0, err
	}

	req.Header.Set("Content-Type", "application/json")

	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}

	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
		return 0, fmt.Errorf("POST %s/v1/auth/login/complete: %d, want 401 or 429", base, resp.StatusCode)
	}

	return resp.StatusCode, nil
}

func wrongCodeCall(client *http.Client, base string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := wrongCode(ctx, client, base)

		return err
	}
}

// counterPerAttempt is the baseline of BenchmarkWrongCode: every attempt
// counts in the address's row of auth.rate_limits, and is refused past
// limit (a code is never checked: the runs are all over the limit).
type counterPerAttempt struct {
	pool   *pgxpool.Pool
	limit  int
	window time.Duration
}

func (c counterPerAttempt) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct{ Email, Code string }
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil || req.Email == "" {
		http.Error(w, `{"code":"INVALID_ARGUMENT"}`, http.StatusBadRequest)

		return
	}

	var hits int

	err := c.pool.QueryRow(r.Context(), `INSERT INTO auth.rate_limits (key, window_start, hits) VALUES ($1, $2, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET hits = auth.rate_limits.hits + 1 RETURNING hits`,
		"baseline:verify:ip:"+r.RemoteAddr[:strings.LastIndexByte(r.RemoteAddr, ':')], time.Now().Truncate(c.window)).Scan(&hits)

	switch {
	case err != nil:
		http.Error(w, `{"code":"INTERNAL"}`, http.StatusInternalServerError)
	case hits > c.limit:
		w.Header().Set("Retry-After", "60")
		http.Error(w, `{"code":"RATE_LIMITED"}`, http.StatusTooManyRequests)
	default:
		http.Error(w, `{"code":"AUTH_CODE_INVALID"}`, http.StatusUnauthorized)
	}
}
