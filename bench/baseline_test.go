package bench

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// baseline is what a careful engineer would write by hand for an
// authenticated GET /v1/auth/profile with net/http and pgx: verify the HS256
// JWT, check the session is live (the same query as the platform), load the
// user, write JSON. No middleware, no gateway, no gRPC.
type baseline struct {
	pool   *pgxpool.Pool
	secret []byte
	parser *jwt.Parser
}

type baselineClaims struct {
	jwt.RegisteredClaims

	SessionID string `json:"sid"`
	TokenType string `json:"token_type"`
}

type baselineUser struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	Phone       string    `json:"phone"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	CreateTime  time.Time `json:"create_time"`
	UpdateTime  time.Time `json:"update_time"`
}

func newBaseline(pool *pgxpool.Pool, secret []byte) *baseline {
	return &baseline{pool: pool, secret: secret, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("modulith"), jwt.WithAudience("modulith"),
		jwt.WithExpirationRequired())}
}

func (b *baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/v1/auth/profile" {
		http.NotFound(w, r)

		return
	}

	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, `{"code":"AUTH_REQUIRED"}`, http.StatusUnauthorized)

		return
	}

	var claims baselineClaims
	if _, err := b.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return b.secret, nil }); err != nil || claims.TokenType != "access" {
		http.Error(w, `{"code":"AUTH_TOKEN_INVALID"}`, http.StatusUnauthorized)

		return
	}

	user, err := b.profile(r.Context(), claims.SessionID, claims.Subject)
	if err != nil {
		http.Error(w, `{"code":"AUTH_TOKEN_INVALID"}`, http.StatusUnauthorized)

		return
	}

	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]baselineUser{"user": user})
}

func (b *baseline) profile(ctx context.Context, sessionID, userID string) (baselineUser, error) {
	var role string

	err := b.pool.QueryRow(ctx, `SELECT u.role FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id
		WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3`,
		sessionID, userID, time.Now()).Scan(&role)
	if err != nil {
		return baselineUser{}, err
	}

	var (
		u            baselineUser
		email, phone *string
	)

	err = b.pool.QueryRow(ctx, `SELECT id, email, phone, display_name, role, created_at, updated_at
		FROM auth.users WHERE id = $1`, userID).
		Scan(&u.ID, &email, &phone, &u.DisplayName, &u.Role, &u.CreateTime, &u.UpdateTime)
	if errors.Is(err, pgx.ErrNoRows) || err != nil {
		return baselineUser{}, err
	}

	if email != nil {
		u.Email = *email
	}

	if phone != nil {
		u.Phone = *phone
	}

	return u, nil
}

// serveBaseline serves the baseline on a free port until ctx ends.
func serveBaseline(ctx context.Context, h http.Handler) (string, error) {
	var lc net.ListenConfig

	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()

		_ = srv.Close()
	}()

	return "http://" + ln.Addr().String(), nil
}
