package websocket_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/websocket"
)

// sessions is a SessionChecker whose revoked sessions fail.
type sessions struct {
	mu      sync.Mutex
	revoked map[string]bool
}

func (s *sessions) CheckSession(_ context.Context, sessionID, _ string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.revoked[sessionID] {
		return "", errors.WithCode(errors.CodeAuthTokenInvalid, "session expired or revoked")
	}

	return "user", nil
}

type noPermissions struct{}

func (noPermissions) Permissions(string) []string { return nil }

// authEnv is a /ws endpoint with real token checks.
type authEnv struct {
	hub    *websocket.Hub
	srv    *httptest.Server
	tokens *authn.Tokens
}

func newAuthEnv(t *testing.T, wsCfg websocket.Config, cfg websocket.HandlerConfig) *authEnv {
	t.Helper()

	tokens, err := authn.NewTokens(authn.TokenConfig{
		Secret: secrets.Fixed([]byte("websocket-test-secret-0123456789abcdef")), Issuer: "modulith", Audience: "modulith",
	})
	if err != nil {
		t.Fatal(err)
	}

	checker := &sessions{revoked: map[string]bool{"sess_revoked": true}}
	hub := newHub(t, wsCfg, discardLogger())
	handler := websocket.NewHandler(hub, authn.NewAuthenticator(tokens, checker, noPermissions{}), cfg, discardLogger())

	mux := http.NewServeMux()
	mux.Handle("GET /ws", handler)
	mux.Handle("GET /healthz/ws", websocket.StatsHandler(hub))

	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	return &authEnv{hub: hub, srv: srv, tokens: tokens}
}

// token issues an access token for a user's session, valid for ttl from
// issued.
func (e *authEnv) token(t *testing.T, user, session string, issued time.Time, ttl time.Duration) string {
	t.Helper()

	tok, _, err := e.tokens.IssueAccess(user, session, "user", issued, ttl)
	if err != nil {
		t.Fatal(err)
	}

	return tok
}

func (e *authEnv) valid(t *testing.T, user, session string) string {
	t.Helper()

	return e.token(t, user, session, time.Now(), time.Hour)
}

func bearerHeader(token string) *ws.DialOptions {
	return &ws.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}}
}

func subprotocols(protocols ...string) *ws.DialOptions {
	return &ws.DialOptions{Subprotocols: protocols}
}

func withOrigin(opts *ws.DialOptions, origin string) *ws.DialOptions {
	if opts.HTTPHeader == nil {
		opts.HTTPHeader = http.Header{}
	}

	opts.HTTPHeader.Set("Origin", origin)

	return opts
}

// The socket is the token's user's: a message for that user reaches it.
func TestHandlerAcceptsToken(t *testing.T) {
	t.Parallel()

	e := newAuthEnv(t, testConfig(t), websocket.HandlerConfig{})
	tok := e.valid(t, "user_ada", "sess_1")

	tests := []struct {
		name         string
		path         string
		opts         *ws.DialOptions
		wantProtocol string
	}{
		{name: "Authorization header", path: "/ws", opts: bearerHeader(tok)},
		{
			name: "bearer subprotocol", path: "/ws",
			opts: subprotocols(websocket.Subprotocol, websocket.TokenProtocolPrefix+tok), wantProtocol: websocket.Subprotocol,
		},
		{
			name: "header, protocol offered", path: "/ws",
			opts: &ws.DialOptions{
				HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}, Subprotocols: []string{websocket.Subprotocol},
			},
			wantProtocol: websocket.Subprotocol,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, a, err := dial(t, wsURL(e.srv, tt.path), tt.opts)
			if err != nil {
				t.Fatalf("dial: %v (%+v)", err, a)
			}

			if got := conn.Subprotocol(); got != tt.wantProtocol {
				t.Errorf("Subprotocol() = %q, want %q", got, tt.wantProtocol)
			}

			waitConnections(t, e.hub, 1)
			e.hub.Send(message("user.profile_updated", "user_ada"))
			wantMessage(t, conn, "user.profile_updated")

			_ = conn.Close(ws.StatusNormalClosure, "")

			waitConnections(t, e.hub, 0)
		})
	}
}

func TestHandlerRefusesBadCredentials(t *testing.T) {
	t.Parallel()

	e := newAuthEnv(t, testConfig(t), websocket.HandlerConfig{})
	expired := e.token(t, "user_ada", "sess_1", time.Now().Add(-2*time.Hour), time.Hour)
	revoked := e.valid(t, "user_ada", "sess_revoked")
	valid := e.valid(t, "user_ada", "sess_1")

	tests := []struct {
		name       string
		path       string
		opts       *ws.DialOptions
		wantStatus int
		wantCode   errors.Code
	}{
		{"no token", "/ws", nil, http.StatusUnauthorized, errors.CodeAuthRequired},
		{"not a bearer", "/ws", &ws.DialOptions{HTTPHeader: http.Header{"Authorization": {"Basic YTpi"}}}, http.StatusUnauthorized, errors.CodeAuthRequired},
		{"garbage token", "/ws", bearerHeader("not-a-jwt"), http.StatusUnauthorized, errors.CodeAuthTokenInvalid},
		{"expired token", "/ws", bearerHeader(expired), http.StatusUnauthorized, errors.CodeAuthTokenExpired},
		{"revoked session", "/ws", bearerHeader(revoked), http.StatusUnauthorized, errors.CodeAuthTokenInvalid},
		{
			"revoked session by subprotocol", "/ws", subprotocols(websocket.Subprotocol, websocket.TokenProtocolPrefix+revoked),
			http.StatusUnauthorized, errors.CodeAuthTokenInvalid,
		},
		{
			"token subprotocol without modulith.v1", "/ws", subprotocols(websocket.TokenProtocolPrefix + valid),
			http.StatusBadRequest, errors.CodeValidationFailed,
		},
		{"query token (disabled)", "/ws?token=" + valid, nil, http.StatusUnauthorized, errors.CodeAuthRequired},
		{"user ID parameter", "/ws?user_id=user_ada", nil, http.StatusUnauthorized, errors.CodeAuthRequired},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			_, a, err := dial(t, wsURL(e.srv, tt.path), tt.opts)
			if err == nil {
				t.Fatal("dial succeeded, want a refusal")
			}

			if a.Status != tt.wantStatus || a.Code != string(tt.wantCode) {
				t.Errorf("answer = %+v, want %d %s", a, tt.wantStatus, tt.wantCode)
			}
		})
	}

	if got := e.hub.Stats().Connections; got != 0 {
		t.Errorf("hub holds %d sockets after refusals, want 0", got)
	}
}

func TestHandlerQueryTokenWhenEnabled(t *testing.T) {
	t.Parallel()

	e := newAuthEnv(t, testConfig(t), websocket.HandlerConfig{QueryToken: true})

	conn, a, err := dial(t, wsURL(e.srv, "/ws?token="+e.valid(t, "user_ada", "sess_1")), nil)
	if err != nil {
		t.Fatalf("dial: %v (%+v)", err, a)
	}

	waitConnections(t, e.hub, 1)
	e.hub.Send(message("user.profile_updated", "user_ada"))
	wantMessage(t, conn, "user.profile_updated")

	_, a, err = dial(t, wsURL(e.srv, "/ws?token="+e.valid(t, "user_ada", "sess_revoked")), nil)
	if err == nil || a.Status != http.StatusUnauthorized {
		t.Errorf("revoked query token: %v %+v, want 401", err, a)
	}
}

func TestHandlerChecksOrigin(t *testing.T) {
	t.Parallel()

	const sameOrigin = "(the server's own origin)"

	tests := []struct {
		name       string
		allowed    []string
		origin     string
		wantStatus int // 0: accepted
	}{
		{name: "allowed", allowed: []string{"https://app.example.com"}, origin: "https://app.example.com"},
		{name: "other", allowed: []string{"https://app.example.com"}, origin: "https://evil.example.com", wantStatus: http.StatusForbidden},
		{name: "other scheme", allowed: []string{"https://app.example.com"}, origin: "http://app.example.com", wantStatus: http.StatusForbidden},
		{name: "null", allowed: []string{"https://app.example.com"}, origin: "null", wantStatus: http.StatusForbidden},
		{name: "empty list", origin: "https://app.example.com", wantStatus: http.StatusForbidden},
		{name: "any", allowed: []string{"*"}, origin: "https://anywhere.example"},
		{name: "no Origin (not a browser)", allowed: []string{"https://app.example.com"}},
		{name: "same origin, not listed", allowed: []string{"https://app.example.com"}, origin: sameOrigin},
		{name: "same origin, empty list", origin: sameOrigin},
		{name: "same host name, other port", origin: "http://127.0.0.1:1", wantStatus: http.StatusForbidden},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			e := newAuthEnv(t, testConfig(t), websocket.HandlerConfig{AllowedOrigins: tt.allowed})
			opts := subprotocols(websocket.Subprotocol, websocket.TokenProtocolPrefix+e.valid(t, "user_ada", "sess_1"))

			switch tt.origin {
			case "":
			case sameOrigin:
				opts = withOrigin(opts, e.srv.URL) // the page's origin is the server's
			default:
				opts = withOrigin(opts, tt.origin)
			}

			_, a, err := dial(t, wsURL(e.srv, "/ws"), opts)

			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Errorf("dial from %q: %v (%+v), want accepted", tt.origin, err, a)
			case tt.wantStatus != 0 && (a.Status != tt.wantStatus || a.Code != string(errors.CodeForbidden)):
				t.Errorf("dial from %q: %+v, want %d FORBIDDEN", tt.origin, a, tt.wantStatus)
			}
		})
	}
}

func TestHandlerLimitsSocketsPerUser(t *testing.T) {
	t.Parallel()

	e := newAuthEnv(t, testConfig(t, "WS_MAX_USER_CONNECTIONS", "1"), websocket.HandlerConfig{})
	tok := e.valid(t, "user_ada", "sess_1")

	if _, a, err := dial(t, wsURL(e.srv, "/ws"), bearerHeader(tok)); err != nil {
		t.Fatalf("first socket: %v (%+v)", err, a)
	}

	waitConnections(t, e.hub, 1)

	_, a, err := dial(t, wsURL(e.srv, "/ws"), bearerHeader(tok))
	if err == nil || a.Status != http.StatusTooManyRequests || a.Code != string(errors.CodeRateLimited) {
		t.Errorf("second socket: %v %+v, want 429 RATE_LIMITED", err, a)
	}
}

func TestStatsHandler(t *testing.T) {
	t.Parallel()

	e := newAuthEnv(t, testConfig(t), websocket.HandlerConfig{})
	for _, u := range []string{"user_ada", "user_ada", "user_bob"} {
		if _, a, err := dial(t, wsURL(e.srv, "/ws"), bearerHeader(e.valid(t, u, "sess_"+u))); err != nil {
			t.Fatalf("dial as %s: %v (%+v)", u, err, a)
		}
	}

	waitConnections(t, e.hub, 3)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/healthz/ws", nil)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	var got map[string]int
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}

	if want := map[string]int{"connections": 3, "users": 2}; got["connections"] != 3 || got["users"] != 2 || len(got) != 2 {
		t.Errorf("GET /healthz/ws = %s, want %v", strings.TrimSpace(string(b)), want)
	}
}
