// Package auth is the authentication module: passwordless sign-in with
// one-time codes sent by email or SMS or with OAuth and OpenID Connect
// providers (accounts linked and unlinked, docs/OAUTH.md), short-lived JWT
// access tokens,
// single-use rotating refresh tokens with reuse detection, sessions that can
// be listed and revoked, the user's profile and contact changes.
//
// Contract: the gRPC service auth.v1.AuthService (proto/auth/v1), also
// served as REST under /v1/auth, and every later version vN listed in
// apis.go, under /vN/auth (docs/API_VERSIONING.md). It owns the PostgreSQL
// schema auth. It publishes, in the transaction of the change each reports,
// user.created, auth.magic_code_requested, auth.session_created,
// auth.session_revoked, auth.oauth_account_linked, user.profile_updated and
// user.contact_change_requested (codes travel sealed in event secrets), and
// provides the session check every authenticated request of every module
// runs. Codes reach users through the notifier, which reacts to its events.
package auth
