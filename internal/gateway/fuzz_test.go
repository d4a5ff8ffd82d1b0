package gateway_test

import (
	"net/http"
	"testing"

	"buf.build/go/protovalidate"
)

// bodyRoutes are the REST routes whose request message is the JSON body.
var bodyRoutes = []struct {
	method string
	path   string
}{
	{method: http.MethodPost, path: "/v1/auth/login/request"},
	{method: http.MethodPost, path: "/v1/auth/login/complete"},
	{method: http.MethodPost, path: "/v1/auth/token/refresh"},
	{method: http.MethodPost, path: "/v1/auth/logout"},
	{method: http.MethodPatch, path: "/v1/auth/profile"},
	{method: http.MethodPost, path: "/v1/auth/contact/request"},
	{method: http.MethodPost, path: "/v1/auth/contact/confirm"},
}

// FuzzDecodeValidate sends arbitrary bytes as the JSON body of each auth
// request through the gateway's marshaler and the validation interceptor.
// Every outcome must be a decoded, valid message reaching the module (200)
// or a validation error (400 VALIDATION_FAILED): never a 500, never a panic,
// never an invalid message in the module.
func FuzzDecodeValidate(f *testing.F) {
	seeds := []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"email":`, `{"email":"ada@example.com"}`, `{"phone":"+14155550100"}`,
		`{"email":"ada@example.com","phone":"+14155550100"}`, `{"email":"ada@example.com","admin":true}`,
		`{"email":"ada@example.com","code":"123456"}`, `{"phone":"+14155550100","code":"12345x"}`,
		`{"refresh_token":"rt_abc"}`, `{"refreshToken":"rt_abc"}`, `{"all_sessions":true}`, `{"all_sessions":"yes"}`,
		`{"display_name":"Ada"}`, `{"display_name":""}`, `{"display_name":null}`, `{"email":"\ud800@x.co"}`,
		`{"email":"ada@example.com"} trailing`, `{"email":1e400}`, "{\"email\":\"a\xffb@c.de\"}",
	}
	for i := range bodyRoutes {
		for _, s := range seeds {
			f.Add(uint8(i), []byte(s))
		}
	}

	v, err := protovalidate.New()
	if err != nil {
		f.Fatal(err)
	}

	srv := &fakeAuth{validator: v}
	gw := newGateway(f, srv)

	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		resp := do(t, gw, r.method, r.path, string(body), http.Header{"Content-Type": {"application/json"}})

		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusBadRequest:
			if got := decodeError(t, resp); got.Code != "VALIDATION_FAILED" {
				t.Errorf("%s %s %q = 400 %+v, want code VALIDATION_FAILED", r.method, r.path, body, got)
			}
		default:
			t.Errorf("%s %s %q = %d %s, want 200 or 400", r.method, r.path, body, resp.StatusCode, resp.Body)
		}

		srv.mu.Lock()
		defer srv.mu.Unlock()

		if len(srv.invalid) > 0 {
			t.Errorf("%s %s %q: invalid message %v reached the module", r.method, r.path, body, srv.invalid)
			srv.invalid = nil
		}
	})
}
