package examples

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/modulith/modulith/internal/errors"
)

// appURL is the page of the web app a browser sign-in returns to: it is
// allow-listed, and never fetched (clients stop at the redirect to it).
const appURL = "http://app.example.test/signed-in"

// oauthServer is a server signing in with two OpenID Connect providers,
// corp and other, both served by one mock provider on loopback.
type oauthServer struct {
	*server

	// Base is the server's public URL the provider redirects to: a proxy
	// on a free port, created first so the server can be told its URL.
	Base string
	OIDC *mockoidc.MockOIDC
}

// startOAuthServer runs the server with the providers corp and other.
func startOAuthServer(t *testing.T) *oauthServer {
	t.Helper()

	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = op.Shutdown() })

	var target atomic.Pointer[url.URL]

	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target.Load())
	}})
	t.Cleanup(proxy.Close)

	cfg := op.Config()
	both := func(v string) string { return "corp=" + v + ",other=" + v }

	s := startServer(t, map[string]string{
		"AUTH_OAUTH_PROVIDERS":           "corp,other",
		"AUTH_OAUTH_BASE_URL":            proxy.URL,
		"AUTH_OAUTH_REDIRECT_URLS":       appURL,
		"AUTH_OAUTH_OIDC_ISSUERS":        both(cfg.Issuer),
		"AUTH_OAUTH_OIDC_CLIENT_IDS":     both(cfg.ClientID),
		"AUTH_OAUTH_OIDC_CLIENT_SECRETS": both(cfg.ClientSecret),
	})

	u, err := url.Parse(s.HTTP)
	if err != nil {
		t.Fatal(err)
	}

	target.Store(u)

	return &oauthServer{server: s, Base: proxy.URL, OIDC: op}
}

// browser is an HTTP client with a cookie jar that follows redirects,
// except to the web app's page or to a callback when stopAtCallback is
// set: then it returns the redirect.
type browser struct {
	*http.Client

	stopAtCallback bool
}

func newBrowser(t *testing.T) *browser {
	t.Helper()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}

	b := &browser{}
	b.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == "app.example.test" || (b.stopAtCallback && strings.HasSuffix(req.URL.Path, "/callback")) {
			return http.ErrUseLastResponse
		}

		return nil
	}}

	return b
}

// get fetches u, following redirects as the browser does.
func (b *browser) get(t *testing.T, u string) response {
	t.Helper()

	return b.send(t, http.MethodGet, u, "")
}

// send makes a request with an optional bearer token.
func (b *browser) send(t *testing.T, method, u, token string) response {
	t.Helper()

	req, err := http.NewRequestWithContext(context.Background(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}

	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := b.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// queue makes the provider sign the next visitor in as this account.
func (s *oauthServer) queue(subject, email string, verified bool) {
	s.OIDC.QueueUser(&mockoidc.MockUser{Subject: subject, Email: email, EmailVerified: verified})
}

// apiSignIn signs in with corp as an API client: start (JSON), the
// provider's redirects, and the callback's JSON answer.
func (s *oauthServer) apiSignIn(t *testing.T, b *browser) response {
	t.Helper()

	start := b.get(t, s.Base+"/v1/auth/oauth/corp")
	start.wantOK(t)

	return b.get(t, jsonString(start.JSON(t), "authorization_url"))
}

// webSignIn signs in as a browser: it is redirected to the provider and
// back to the web app's page with a one-time code, which it exchanges.
func (s *oauthServer) webSignIn(t *testing.T, b *browser) map[string]any {
	t.Helper()

	r := b.get(t, s.Base+"/v1/auth/oauth/corp?redirect_uri="+url.QueryEscape(appURL))
	code := returnedParam(t, r, "oauth_code")

	ex := s.post(t, "/v1/auth/oauth/exchange", map[string]string{"code": code}, nil)
	ex.wantOK(t)

	// The code works once.
	s.post(t, "/v1/auth/oauth/exchange", map[string]string{"code": code}, nil).
		wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)

	return ex.JSON(t)
}

// returnedParam checks r redirects to the web app's page and returns a
// query parameter of it.
func returnedParam(t *testing.T, r response, name string) string {
	t.Helper()

	if r.Status != http.StatusFound {
		t.Fatalf("status = %d %s, want 302 to the app", r.Status, r.Body)
	}

	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != appURL {
		t.Fatalf("Location = %q, want %s?…", r.Header.Get("Location"), appURL)
	}

	if strings.Contains(loc.RawQuery, "token") {
		t.Fatalf("Location %q carries a token", loc)
	}

	v := loc.Query().Get(name)
	if v == "" {
		t.Fatalf("Location %q has no %s", loc, name)
	}

	return v
}

// linkedAccount is one entry of GET /v1/auth/linked-accounts.
type linkedAccount struct {
	ID            string `json:"id"`
	Provider      string `json:"provider"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

func (s *oauthServer) accounts(t *testing.T, token string) []linkedAccount {
	t.Helper()

	r := s.do(t, http.MethodGet, "/v1/auth/linked-accounts", nil, token)
	r.wantOK(t)

	var body struct {
		Accounts  []linkedAccount `json:"accounts"`
		Providers []string        `json:"providers"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}

	if strings.Join(body.Providers, ",") != "corp,other" {
		t.Errorf("providers = %v, want [corp other]", body.Providers)
	}

	return body.Accounts
}

// TestOAuthSignIn: a first sign-in creates the user, a sign-in with the
// same verified address links to the user who owns it (through the web
// flow), linked accounts are listed and unlinked, and the last way to
// sign in cannot be unlinked.
func TestOAuthSignIn(t *testing.T) {
	t.Parallel()

	s := startOAuthServer(t)

	s.queue("sub-new", "new@example.com", true)
	first := s.apiSignIn(t, newBrowser(t))
	first.wantOK(t)

	m := first.JSON(t)
	if m["new_user"] != true || jsonString(m, "user", "email") != "new@example.com" || jsonString(m, "tokens", "access_token") == "" {
		t.Fatalf("first sign-in = %s, want a new user with new@example.com and tokens", first.Body)
	}

	// The new account was announced, in the sign-in's transaction.
	newID := jsonString(m, "user", "id")
	wantPublished(t, s.server, "user.created", newID)

	// The session is an ordinary one: it refreshes.
	refresh(t, s.server, jsonString(m, "tokens", "refresh_token")).wantOK(t)

	ada := signInEmail(t, s.server, "ada@example.com")

	s.queue("sub-ada", "ada@example.com", true)
	web := s.webSignIn(t, newBrowser(t))

	if got := jsonString(web, "user", "id"); got != ada.UserID || web["new_user"] == true {
		t.Fatalf("web sign-in as ada = %v, want ada's account %s", web, ada.UserID)
	}

	accts := s.accounts(t, ada.Access)
	if len(accts) != 1 || accts[0].Provider != "corp" || !accts[0].EmailVerified {
		t.Fatalf("ada's accounts = %+v, want one verified corp account", accts)
	}

	wantPublished(t, s.server, "auth.oauth_account_linked", ada.UserID)

	s.do(t, http.MethodDelete, "/v1/auth/linked-accounts/"+accts[0].ID, nil, ada.Access).wantOK(t)

	if accts := s.accounts(t, ada.Access); len(accts) != 0 {
		t.Fatalf("after unlink: accounts = %+v, want none", accts)
	}

	// Without a verified address, the provider account is the user's only
	// way in: it stays.
	s.queue("sub-anon", "anon@example.com", false)
	anon := s.apiSignIn(t, newBrowser(t))
	anon.wantOK(t)

	access := jsonString(anon.JSON(t), "tokens", "access_token")
	only := s.accounts(t, access)

	s.do(t, http.MethodDelete, "/v1/auth/linked-accounts/"+only[0].ID, nil, access).
		wantError(t, http.StatusConflict, errors.CodeConflict)
}

// TestOAuthFormPost: a provider answering with a form POST (Apple's
// response_mode=form_post) is sent on to the GET callback, which the
// browser's SameSite=Lax cookie comes with.
func TestOAuthFormPost(t *testing.T) {
	t.Parallel()

	s := startOAuthServer(t)
	b := newBrowser(t)

	s.queue("sub-form", "form@example.com", true)
	cb := s.callbackOf(t, b)

	post := func() response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.Base+cb.Path, strings.NewReader(cb.RawQuery))
		if err != nil {
			t.Fatal(err)
		}

		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()

		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}

		return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	}

	b.stopAtCallback = true
	r := post()

	if loc := r.Header.Get("Location"); r.Status != http.StatusFound || loc != s.Base+cb.Path+"?"+cb.Query().Encode() {
		t.Fatalf("form POST = %d, Location %q; want 302 to the GET callback with the same parameters", r.Status, loc)
	}

	b.stopAtCallback = false
	r = post()
	r.wantOK(t)

	if jsonString(r.JSON(t), "user", "email") != "form@example.com" {
		t.Errorf("form POST sign-in = %s, want form@example.com signed in", r.Body)
	}
}

// TestOAuthLink: a signed-in user links a provider account, which then
// signs them in; the same account cannot be linked to someone else.
func TestOAuthLink(t *testing.T) {
	t.Parallel()

	s := startOAuthServer(t)
	grace := signInEmail(t, s.server, "grace@example.com")
	b := newBrowser(t)

	start := b.send(t, http.MethodPost, s.Base+"/v1/auth/oauth/corp/link", grace.Access)
	start.wantOK(t)

	// The provider's address differs and is unverified: a link needs
	// neither, the user proved both accounts are theirs.
	s.queue("sub-grace", "grace@corp.example", false)

	linked := b.get(t, jsonString(start.JSON(t), "authorization_url"))
	linked.wantOK(t)

	if got := jsonString(linked.JSON(t), "account", "provider"); got != "corp" {
		t.Fatalf("link = %s, want the corp account", linked.Body)
	}

	s.queue("sub-grace", "grace@corp.example", false)

	in := s.apiSignIn(t, newBrowser(t))
	in.wantOK(t)

	if got := jsonString(in.JSON(t), "user", "id"); got != grace.UserID {
		t.Fatalf("sign-in with the linked account = user %s, want %s", got, grace.UserID)
	}

	other := signInEmail(t, s.server, "other@example.com")
	b2 := newBrowser(t)
	start = b2.send(t, http.MethodPost, s.Base+"/v1/auth/oauth/corp/link", other.Access)
	start.wantOK(t)

	s.queue("sub-grace", "grace@corp.example", false)
	b2.get(t, jsonString(start.JSON(t), "authorization_url")).wantError(t, http.StatusConflict, errors.CodeConflict)
}

// callbackOf starts a sign-in with corp in b and returns the callback URL
// the provider redirects to, without visiting it.
func (s *oauthServer) callbackOf(t *testing.T, b *browser) *url.URL {
	t.Helper()

	b.stopAtCallback = true
	defer func() { b.stopAtCallback = false }()

	r := s.apiSignIn(t, b)
	if r.Status != http.StatusFound {
		t.Fatalf("provider answered %d %s, want a redirect to the callback", r.Status, r.Body)
	}

	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}

	return u
}

// TestOAuthAttacks: each attack on the flow fails, for the reason it
// should.
func TestOAuthAttacks(t *testing.T) {
	t.Parallel()

	s := startOAuthServer(t)

	for _, attack := range []struct {
		name string
		run  func(t *testing.T, s *oauthServer)
	}{
		{"open redirect", openRedirect},
		{"state replay", stateReplay},
		{"code replay", codeReplay},
		{"mix-up: another provider's state", mixUpProvider},
		{"mix-up: wrong issuer", mixUpIssuer},
		{"login CSRF: another client's callback", loginCSRF},
		{"unverified email takeover", unverifiedTakeover},
		{"secrets stay out of logs", secretsOutOfLogs},
	} {
		t.Run(attack.name, func(t *testing.T) { attack.run(t, s) })
	}
}

// wantFailed checks the callback r failed, for the reason the server
// logged.
func (s *oauthServer) wantFailed(t *testing.T, r response, reason string) {
	t.Helper()

	r.wantError(t, http.StatusUnauthorized, errors.CodeAuthOAuthFailed)

	logged := func(l logLine) bool {
		return l.Msg() == "oauth sign-in failed" && strings.Contains(l.String("reason"), reason)
	}
	if _, err := s.logs.wait(5*time.Second, logged); err != nil {
		t.Fatalf("no failure logged with reason %q: %v", reason, err)
	}
}

// withParam returns u with a query parameter set.
func withParam(u *url.URL, key, value string) string {
	q := u.Query()
	q.Set(key, value)

	out := *u
	out.RawQuery = q.Encode()

	return out.String()
}

func openRedirect(t *testing.T, s *oauthServer) {
	for _, target := range []string{"https://evil.example/signed-in", appURL + "/../evil", appURL + "?next=x", "http://app.example.test/"} {
		r := newBrowser(t).get(t, s.Base+"/v1/auth/oauth/corp?redirect_uri="+url.QueryEscape(target))
		r.wantError(t, http.StatusBadRequest, errors.CodeValidationFailed)

		if !strings.Contains(string(r.Body), `"field":"redirect_uri"`) {
			t.Errorf("redirect_uri %q: error %s does not name the field", target, r.Body)
		}
	}
}

func stateReplay(t *testing.T, s *oauthServer) {
	b := newBrowser(t)

	s.queue("sub-replay", "replay@example.com", true)
	cb := s.callbackOf(t, b)

	b.get(t, cb.String()).wantOK(t)
	s.wantFailed(t, b.get(t, cb.String()), "unknown, used or expired state")
}

// codeReplay presents a used code under a fresh state of the same client:
// the provider refuses it (used, and not the fresh state's PKCE verifier).
func codeReplay(t *testing.T, s *oauthServer) {
	b := newBrowser(t)

	s.queue("sub-code", "code@example.com", true)
	first := s.callbackOf(t, b)
	b.get(t, first.String()).wantOK(t)

	second := s.callbackOf(t, b)
	s.wantFailed(t, b.get(t, withParam(second, "code", first.Query().Get("code"))), "code exchange")
}

func mixUpProvider(t *testing.T, s *oauthServer) {
	b := newBrowser(t)
	cb := s.callbackOf(t, b)
	cb.Path = strings.Replace(cb.Path, "/corp/", "/other/", 1)

	s.wantFailed(t, b.get(t, cb.String()), "state of provider corp")
}

func mixUpIssuer(t *testing.T, s *oauthServer) {
	b := newBrowser(t)
	cb := s.callbackOf(t, b)

	s.wantFailed(t, b.get(t, withParam(cb, "iss", "https://evil.example")), "issuer mismatch")
}

// loginCSRF: the attacker's callback, opened in the victim's browser,
// would sign the victim in to the attacker's account.
func loginCSRF(t *testing.T, s *oauthServer) {
	s.queue("sub-attacker", "attacker@example.com", true)
	cb := s.callbackOf(t, newBrowser(t))

	s.wantFailed(t, newBrowser(t).get(t, cb.String()), "binding cookie missing or wrong")
}

func unverifiedTakeover(t *testing.T, s *oauthServer) {
	victim := signInEmail(t, s.server, "victim@example.com")

	s.queue("sub-takeover", "victim@example.com", false)
	r := s.apiSignIn(t, newBrowser(t))
	r.wantOK(t)

	m := r.JSON(t)
	if jsonString(m, "user", "id") == victim.UserID || jsonString(m, "user", "email") != "" {
		t.Fatalf("unverified sign-in = %s, want a new user without the address", r.Body)
	}

	if accts := s.accounts(t, victim.Access); len(accts) != 0 {
		t.Fatalf("victim's accounts = %+v, want none", accts)
	}
}

// secretsOutOfLogs runs a browser sign-in and searches the log for its
// state, provider code, cookie, one-time code and tokens.
func secretsOutOfLogs(t *testing.T, s *oauthServer) {
	b := newBrowser(t)

	s.queue("sub-logs", "logs@example.com", true)

	b.stopAtCallback = true
	start := b.get(t, s.Base+"/v1/auth/oauth/corp?redirect_uri="+url.QueryEscape(appURL))
	b.stopAtCallback = false

	cb, err := url.Parse(start.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}

	code := returnedParam(t, b.get(t, cb.String()), "oauth_code")
	ex := s.post(t, "/v1/auth/oauth/exchange", map[string]string{"code": code}, nil)
	ex.wantOK(t)

	m := ex.JSON(t)
	secrets := []string{cb.Query().Get("state"), cb.Query().Get("code"), code,
		jsonString(m, "tokens", "access_token"), jsonString(m, "tokens", "refresh_token")}

	for _, c := range b.Jar.Cookies(cb) {
		secrets = append(secrets, c.Value)
	}

	logged := func(l logLine) bool {
		return l.Msg() == "http request" && l.String("path") == "/v1/auth/oauth/exchange"
	}
	if _, err := s.logs.wait(5*time.Second, logged); err != nil {
		t.Fatal(err)
	}

	for _, secret := range secrets {
		if secret == "" || strings.Contains(s.Logs(), secret) {
			t.Errorf("secret %q is empty or in the log", secret)
		}
	}
}

// wantPublished checks that the outbox holds an event named name about
// user userID.
func wantPublished(t *testing.T, s *server, name, userID string) {
	t.Helper()

	var n int

	err := s.DB.Pool.QueryRow(t.Context(),
		`SELECT count(*) FROM events.outbox WHERE name = $1 AND payload->>'user_id' = $2`, name, userID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}

	if n != 1 {
		t.Errorf("%s events about %s in the outbox = %d, want 1", name, userID, n)
	}
}
