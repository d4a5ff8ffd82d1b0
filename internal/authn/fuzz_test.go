package authn_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
)

// longLived outlives any corpus entry built from the seeds below, so that
// saved inputs keep exercising the accept path.
const longLived = 100 * 365 * 24 * time.Hour

// FuzzParseAccess checks that ParseAccess never panics, fails only with
// AUTH_TOKEN_INVALID or AUTH_TOKEN_EXPIRED, and accepts only tokens the
// issuer could have made: an HS256 token whose signature is exactly the
// HMAC of its first two segments under the secret, of type access, naming a
// user and a session.
func FuzzParseAccess(f *testing.F) {
	tokens := newTokens(f)
	now := time.Now()
	claims := validClaims(now)
	claims["exp"] = now.Add(longLived).Unix()

	valid, _, err := tokens.IssueAccess("user-1", "sess-1", "user", now, longLived)
	if err != nil {
		f.Fatal(err)
	}

	f.Add(valid)
	f.Add(handmade(f, map[string]string{"alg": "none", "typ": "JWT"}, claims, nil))
	f.Add(sign(f, jwt.SigningMethodHS256, otherKey, claims))
	f.Add(sign(f, jwt.SigningMethodHS512, testKey, claims))
	f.Add(handmade(f, map[string]string{"alg": "HS256"}, with(claims, map[string]any{"token_type": "refresh"}), testKey))
	f.Add(handmade(f, map[string]string{"alg": "HS256"}, with(claims, map[string]any{"sid": ""}), testKey))
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiJ9..")
	f.Add("\x00\xff.\n.")

	f.Fuzz(func(t *testing.T, token string) {
		got, err := tokens.ParseAccess(token)
		if err != nil {
			if got != nil {
				t.Errorf("ParseAccess(%q) = %+v, %v; want nil claims with the error", token, got, err)
			}

			if !errors.HasCode(err, errors.CodeAuthTokenInvalid) && !errors.HasCode(err, errors.CodeAuthTokenExpired) {
				t.Errorf("ParseAccess(%q) = %v, want AUTH_TOKEN_INVALID or AUTH_TOKEN_EXPIRED", token, err)
			}

			return
		}

		if got.TokenType != authn.TokenTypeAccess || got.Subject == "" || got.SessionID == "" {
			t.Errorf("ParseAccess(%q) accepted claims %+v: want token_type access, sub and sid", token, got)
		}

		if problem := issuedBy(token, testKey); problem != "" {
			t.Errorf("ParseAccess(%q) accepted a token the issuer could not have made: %s", token, problem)
		}
	})
}

// issuedBy reports why token is not one IssueAccess could have produced
// with key ("" when it is): the header must name HS256 and the third segment
// must be exactly the unpadded base64url HMAC-SHA256 of the first two.
func issuedBy(token string, key []byte) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "not three segments"
	}

	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "header is not base64url: " + err.Error()
	}

	var header struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &header); err != nil || header.Alg != "HS256" {
		return "header does not name HS256"
	}

	if want := hmacSHA256(key, parts[0]+"."+parts[1]); parts[2] != want {
		return "signature " + parts[2] + " is not the canonical HMAC " + want
	}

	return ""
}

// FuzzBearer checks the contract of bearer: a token is returned only for a
// case-insensitive "Bearer " prefix, is never empty, has no surrounding
// white space and is the rest of the header.
func FuzzBearer(f *testing.F) {
	for _, seed := range []string{"Bearer abc", "bearer  abc ", "Bearer", "Bearer ", "Basic abc", "", "BEARER\ta", "Bearer \u00a0x\u00a0"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, authorization string) {
		token, ok := authn.Bearer(authorization)

		const prefix = "bearer "

		hasPrefix := len(authorization) >= len(prefix) && strings.EqualFold(authorization[:len(prefix)], prefix)
		rest := ""

		if hasPrefix {
			rest = strings.TrimSpace(authorization[len(prefix):])
		}

		if ok != (rest != "") {
			t.Errorf("bearer(%q) ok = %t, want %t", authorization, ok, rest != "")
		}

		if token != rest {
			t.Errorf("bearer(%q) = %q, want %q", authorization, token, rest)
		}

		if ok && (token == "" || strings.TrimSpace(token) != token || !strings.HasSuffix(strings.TrimSpace(authorization), token)) {
			t.Errorf("bearer(%q) = %q: want a non-empty, trimmed suffix of the header", authorization, token)
		}
	})
}
