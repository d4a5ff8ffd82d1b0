// Package models holds the auth module's plain data types, shared by its
// repository and service and free of database types.
package models

import "time"

// Purposes of a one-time code.
const (
	PurposeLogin         = "login"
	PurposeContactChange = "contact_change"
)

// User is an account.
type User struct {
	ID          string
	Email       string // "" when the user has none
	Phone       string // "" when the user has none
	DisplayName string
	Role        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PublicProfile is what any signed-in user may see of a user.
type PublicProfile struct {
	ID          string
	DisplayName string
}

// MagicCode is a one-time code, known only by its HMAC.
type MagicCode struct {
	ID        string
	Purpose   string
	Identity  string // where the code was sent: a normalized email or phone
	UserID    string // the requesting user, for contact changes
	Client    string // the client IP address that asked for it
	CodeHash  []byte
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LoginLockout counts the failed code checks of one identity, across codes
// and clients, and the escalating cool-down they trigger.
type LoginLockout struct {
	Key         string    // purpose, user (contact changes) and identity
	WindowStart time.Time // the rate window Failures were counted in
	Failures    int32
	Lockouts    int32      // cool-downs so far
	LockedUntil *time.Time // checks are refused until then
}

// Session is a signed-in device.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	UserAgent string
	IPAddress string
}

// Active reports whether the session may still be used at now.
func (s Session) Active(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// RefreshToken is a single-use refresh token, known only by its hash.
type RefreshToken struct {
	Hash      []byte
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// OAuthAccount is a provider account a user signs in with.
type OAuthAccount struct {
	ID            string
	UserID        string
	Provider      string
	Subject       string // the provider's stable ID of the account
	Email         string // as the provider gave it, "" when none
	EmailVerified bool   // the provider asserted Email is verified
	CreatedAt     time.Time
}

// OAuthState is a sign-in started at a provider, known by the hash of its
// state and bound to its client by the hash of a cookie.
type OAuthState struct {
	StateHash    []byte
	Provider     string
	BindingHash  []byte
	UserID       string // the user linking the provider; "" for a sign-in
	RedirectURI  string // the browser flow's page; "" for an API client
	CodeVerifier string // PKCE; "" when the provider takes none
	Nonce        string // OpenID Connect
	Session      string // the provider library's flow data
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// OAuthExchangeCode is the one-time code a browser sign-in returns to its
// page, known by its hash.
type OAuthExchangeCode struct {
	CodeHash  []byte
	UserID    string
	NewUser   bool
	CreatedAt time.Time
	ExpiresAt time.Time
}
