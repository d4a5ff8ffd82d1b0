package websocket

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
)

// Authenticator verifies a "Bearer <token>" authorization value: the
// access token and that its session is live (authn.Authenticator).
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (authn.Identity, error)
}

// HandlerConfig configures the /ws endpoint.
type HandlerConfig struct {
	// AllowedOrigins are the browser origins allowed to connect, the CORS
	// allow-list: matched exactly, "*" allows any. Requests without an
	// Origin header (non-browser clients) and same-origin requests are
	// always allowed.
	AllowedOrigins []string
	// QueryToken also accepts ?token=<access token>.
	QueryToken bool
}

// Handler upgrades authenticated requests to sockets served by a hub.
type Handler struct {
	hub        *Hub
	auth       Authenticator
	origins    OriginPolicy
	queryToken bool
	logger     *slog.Logger
}

// NewHandler returns the /ws handler.
func NewHandler(hub *Hub, auth Authenticator, cfg HandlerConfig, logger *slog.Logger) *Handler {
	return &Handler{
		hub: hub, auth: auth, origins: NewOriginPolicy(cfg.AllowedOrigins), queryToken: cfg.QueryToken, logger: logger,
	}
}

// OriginPolicy says which browser origins may open a socket: those of the
// CORS allow-list (matched exactly, "*" allows any), the page's own, and
// requests without an Origin (not a browser).
type OriginPolicy struct {
	origins map[string]bool
	any     bool
}

// NewOriginPolicy returns the policy of the allow-list allowed.
func NewOriginPolicy(allowed []string) OriginPolicy {
	p := OriginPolicy{origins: make(map[string]bool, len(allowed))}

	for _, o := range allowed {
		if o == "*" {
			p.any = true
		}

		p.origins[o] = true
	}

	return p
}

// Allows reports whether the request may come from its Origin: no Origin
// (not a browser), an allowed origin, or the page's own origin, whose host
// is the one the request is addressed to (browsers and WebSocket
// libraries, coder/websocket's own check among them, always allow that).
func (p OriginPolicy) Allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.any || p.origins[origin] {
		return true
	}

	u, err := url.Parse(origin)

	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// ServeHTTP checks, before upgrading, the Origin (403), the access token and
// its session (401), and the user's socket count (429); then it upgrades,
// selecting Subprotocol, and hands the socket to the hub. It returns at
// once: the hub serves the socket, so the access log and metrics see the
// handshake (status 101), not the socket's lifetime.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.origins.Allows(r) {
		errors.WriteHTTP(w, http.StatusForbidden, errors.Forbidden("origin not allowed"))

		return
	}

	authorization, err := h.authorization(r)
	if err != nil {
		h.refuse(w, r, err)

		return
	}

	id, err := h.auth.Authenticate(r.Context(), authorization)
	if err != nil {
		h.refuse(w, r, err)

		return
	}

	if err := h.hub.accepts(id.UserID); err != nil {
		h.refuse(w, r, hubRefusal(err))

		return
	}

	// The origin was checked above against the platform's own list.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{Subprotocol}, InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has answered (e.g. 426 to a request that is no upgrade)
	}

	if err := h.hub.Attach(conn, id.UserID, id.SessionID); err != nil {
		h.logger.InfoContext(r.Context(), "websocket: socket refused", "user_id", id.UserID, "error", err)
	}
}

// authorization returns the request's "Bearer <token>" value, from the
// Authorization header, else from a "bearer.<token>" subprotocol (which
// must come with Subprotocol, for the server to select), else, when
// enabled, from ?token=.
func (h *Handler) authorization(r *http.Request) (string, error) {
	if a := r.Header.Get("Authorization"); a != "" {
		return a, nil
	}

	protocols := offeredProtocols(r)
	for _, p := range protocols {
		if token, ok := strings.CutPrefix(p, TokenProtocolPrefix); ok && token != "" {
			if !hasProtocol(protocols, Subprotocol) {
				return "", errors.Validation("offer the " + Subprotocol + " subprotocol next to " + TokenProtocolPrefix + "<token>")
			}

			return "Bearer " + token, nil
		}
	}

	if token := r.URL.Query().Get("token"); token != "" {
		if !h.queryToken {
			return "", errors.Unauthorized("a token in the URL is not accepted: send it in the Authorization header or as the " +
				TokenProtocolPrefix + "<token> subprotocol")
		}

		return "Bearer " + token, nil
	}

	return "", errors.Unauthorized("authentication required")
}

// offeredProtocols lists the subprotocols the client offers, in order.
func offeredProtocols(r *http.Request) []string {
	var out []string

	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}

	return out
}

func hasProtocol(protocols []string, want string) bool {
	for _, p := range protocols {
		if strings.EqualFold(p, want) {
			return true
		}
	}

	return false
}

// hubRefusal is the HTTP answer to a socket the hub would not take.
func hubRefusal(err error) error {
	if stderrors.Is(err, errHubClosed) {
		return errors.Unavailable("server shutting down; reconnect")
	}

	return errors.RateLimited("too many connections for this user", 0)
}

// refuse answers with the platform's JSON error for err, logging causes
// the client does not see.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	de := errors.ToDomain(err)
	if de.Type == errors.TypeInternal || de.Type == errors.TypeUnavailable {
		h.logger.WarnContext(r.Context(), "websocket: upgrade refused", "error", err)
	}

	errors.WriteHTTP(w, 0, de)
}

// StatsHandler answers {"connections": N, "users": M} for hub.
func StatsHandler(hub *Hub) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")

		_ = json.NewEncoder(w).Encode(hub.Stats()) // the client left; nobody to tell
	})
}
