package service

import (
	"context"
	"crypto/sha256"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/ids"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/telemetry"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

// errInvalidCode is the one answer to every failed code check, whatever
// the reason (unknown identity, wrong, expired, used or exhausted code), so
// the answer reveals nothing.
var errInvalidCode = errors.WithCode(errors.CodeAuthCodeInvalid, "invalid or expired code")

// identityOf normalizes the email or phone of a request (exactly one is set).
func identityOf(email, phone string) identity {
	if phone != "" {
		return phoneIdentity(phone)
	}

	return emailIdentity(email)
}

// RequestLogin sends a one-time code. It never looks the identity up, so
// known and unknown addresses get the same answer in the same time.
func (s *Service) RequestLogin(ctx context.Context, req *authv1.RequestLoginRequest) (_ *authv1.RequestLoginResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "RequestLogin")
	defer end(&err)

	id := identityOf(req.GetEmail(), req.GetPhone())
	if !s.delivery.CanDeliver(id.channel) {
		return nil, errors.Unavailable("sign-in by " + string(id.channel) + " is not available")
	}

	// Per client first: a stranger over their own budget stops there, and
	// adds little to the identity's ceiling, which only many clients reach.
	client := reqmeta.ClientIP(ctx)
	if err := s.throttle(ctx, "login:ip:"+client, s.cfg.RequestsPerIP); err != nil {
		return nil, err
	}

	if err := s.throttle(ctx, "login:id+client:"+id.value+"|"+client, s.cfg.RequestsPerID); err != nil {
		return nil, err
	}

	// The ceiling is for strangers: a client that signed in to this
	// identity before is bounded by its own budget only, so strangers who
	// use up the ceiling do not keep the owner's devices from a new code.
	known, err := s.repo.KnownLoginClient(ctx, lockoutKey(models.PurposeLogin, "", id), client, s.now().Add(-s.cfg.KnownClientTTL))
	if err != nil {
		return nil, err
	}

	if !known {
		if err := s.throttle(ctx, "login:id:"+id.value, s.cfg.RequestsPerIdentity); err != nil {
			return nil, err
		}
	}

	if err := s.sendCode(ctx, models.PurposeLogin, id, ""); err != nil {
		return nil, err
	}

	return &authv1.RequestLoginResponse{ExpiresIn: seconds(s.cfg.CodeTTL)}, nil
}

// sendCode replaces any usable code the client asked for (purpose,
// identity, user) with a new one and, in the same transaction, publishes
// the event that delivers it (the code travels sealed, in the event's
// secret). Other clients' codes stay usable: a stranger asking for codes
// does not revoke the one the owner is about to type.
func (s *Service) sendCode(ctx context.Context, purpose string, id identity, userID string) error {
	code, err := newCode()
	if err != nil {
		return err
	}

	codeID, err := ids.New(prefixCode)
	if err != nil {
		return err
	}

	now := s.now()
	mc := models.MagicCode{
		ID: codeID, Purpose: purpose, Identity: id.value, UserID: userID, Client: reqmeta.ClientIP(ctx),
		CodeHash: s.codeHash(purpose, id.value, userID, code), CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL),
	}

	var event events.Payload = authevents.MagicCodeRequested{
		Channel: id.eventChannel(), Destination: id.value, ExpiresAt: mc.ExpiresAt, Code: code,
	}
	if purpose == models.PurposeContactChange {
		event = authevents.ContactChangeRequested{
			UserID: userID, Channel: id.eventChannel(), Destination: id.value, ExpiresAt: mc.ExpiresAt, Code: code,
		}
	}

	return s.repo.WithTx(ctx, func(tx repository.Repository) error {
		if err := tx.RevokeActiveMagicCodes(ctx, purpose, id.value, userID, mc.Client, now); err != nil {
			return err
		}

		if err := tx.CreateMagicCode(ctx, mc); err != nil {
			return err
		}

		return tx.Publish(ctx, event)
	})
}

// lockoutKey names the failure record, and the known clients, of an
// identity for a purpose (and user, for contact changes).
func lockoutKey(purpose, userID string, id identity) string {
	return purpose + "|" + userID + "|" + id.value
}

// consumeCode checks a code inside tx and reports whether it matched: a
// match consumes the code, remembers the client as known to the identity
// and clears the identity's failures (not its cool-down count: an
// attacker must not get a fresh start each time the owner signs in); a
// mismatch counts a failure against the identity (a cool-down once they
// reach AUTH_LOCKOUT_FAILURES in AUTH_LOCKOUT_WINDOW) and, when the code's
// own client made it, an attempt against the code (revoked at the limit),
// which the caller must commit to count. While the identity cools down it
// refuses every check except from its known clients (a success within
// AUTH_KNOWN_CLIENT_TTL), whose failures still count. Whether a code is
// pending or not, a mismatch runs the same statements, HMACs and
// comparisons, so time does not tell.
func (s *Service) consumeCode(ctx context.Context, tx repository.Repository, purpose string, id identity, userID, code string) (bool, error) {
	now := s.now()
	client := reqmeta.ClientIP(ctx)
	key := lockoutKey(purpose, userID, id)

	lock, err := s.admit(ctx, tx, key, client, now)
	if err != nil {
		return false, err
	}

	mc, pending, err := pendingCode(ctx, tx, purpose, id, userID, client, now)
	if err != nil {
		return false, err
	}

	if s.codeMatches(mc.CodeHash, purpose, id.value, userID, code) && pending {
		if err := tx.MarkMagicCodeUsed(ctx, mc.ID, now); err != nil {
			return false, err
		}

		if err := tx.RememberLoginClient(ctx, key, client, now); err != nil {
			return false, err
		}

		lock.Failures = 0

		return true, tx.SaveLoginLockout(ctx, lock)
	}

	// A stranger's wrong guess does not cost the owner's code an attempt:
	// the identity's failures bound it instead. The statement runs either
	// way, on no code when there is none to count on.
	if _, err := tx.RecordFailedAttempt(ctx, mc.ownedBy(client), s.cfg.CodeMaxAttempts, now); err != nil {
		return false, err
	}

	return false, tx.SaveLoginLockout(ctx, s.failed(lock, now))
}

// admit returns and locks the failure record of key, and refuses the
// check while it cools down unless client is known to key. It looks the
// client up on every check, so that every wrong guess runs the same
// statements.
func (s *Service) admit(ctx context.Context, tx repository.Repository, key, client string, now time.Time) (models.LoginLockout, error) {
	lock, err := tx.LockLoginLockout(ctx, key, now.Truncate(s.cfg.LockoutWindow))
	if err != nil {
		return models.LoginLockout{}, err
	}

	known, err := tx.KnownLoginClient(ctx, key, client, now.Add(-s.cfg.KnownClientTTL))
	if err != nil {
		return models.LoginLockout{}, err
	}

	if lock.LockedUntil != nil && now.Before(*lock.LockedUntil) && !known {
		return models.LoginLockout{}, errors.RateLimited("too many failed attempts; try again later", lock.LockedUntil.Sub(now))
	}

	return lock, nil
}

// checkedCode is the code a check compares with.
type checkedCode struct{ models.MagicCode }

// ownedBy returns the code's ID if client asked for it, "" otherwise.
func (c checkedCode) ownedBy(client string) string {
	if c.ID != "" && c.Client == client {
		return c.ID
	}

	return ""
}

// pendingCode returns the code a check from client compares with, and
// whether there is one: when there is none, a stand-in with no ID and an
// all-zero hash, which no HMAC matches, so the comparison runs all the
// same.
func pendingCode(ctx context.Context, tx repository.Repository, purpose string, id identity, userID, client string, now time.Time) (checkedCode, bool, error) {
	mc, err := tx.ActiveMagicCode(ctx, purpose, id.value, userID, client, now)

	switch {
	case err == nil:
		return checkedCode{mc}, true, nil
	case errors.IsType(err, errors.TypeNotFound):
		return checkedCode{models.MagicCode{CodeHash: make([]byte, sha256.Size)}}, false, nil
	default:
		return checkedCode{}, false, err
	}
}

// failed counts one more failed check in lock, starting a cool-down once
// the window's failures reach the limit; each cool-down lasts twice the
// one before, up to AUTH_LOCKOUT_MAX.
func (s *Service) failed(lock models.LoginLockout, now time.Time) models.LoginLockout {
	if window := now.Truncate(s.cfg.LockoutWindow); !lock.WindowStart.Equal(window) {
		lock.WindowStart, lock.Failures = window, 0
	}

	lock.Failures++
	if int(lock.Failures) < s.cfg.LockoutFailures {
		return lock
	}

	lock.Lockouts++

	coolDown := s.cfg.LockoutBase
	for i := int32(1); i < lock.Lockouts && coolDown < s.cfg.LockoutMax; i++ {
		coolDown *= 2
	}

	until := now.Add(min(coolDown, s.cfg.LockoutMax))
	lock.Failures, lock.LockedUntil = 0, &until

	return lock
}

// login is the outcome of a successful CompleteLogin transaction.
type login struct {
	user    models.User
	session models.Session
	refresh string
	created bool
}

// CompleteLogin exchanges a code for tokens, creating the user on first login.
func (s *Service) CompleteLogin(ctx context.Context, req *authv1.CompleteLoginRequest) (_ *authv1.CompleteLoginResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "CompleteLogin")
	defer end(&err)

	client := reqmeta.ClientIP(ctx)
	if err := s.throttle(ctx, "verify:ip:"+client, s.cfg.VerificationsPerIP); err != nil {
		return nil, err
	}

	id := identityOf(req.GetEmail(), req.GetPhone())
	if err := s.throttleIn(ctx, "verify:id+client:"+id.value+"|"+client, s.cfg.VerificationsPerIDClient, s.cfg.LockoutWindow); err != nil {
		return nil, err
	}

	var (
		out   login
		valid bool
	)

	// A wrong guess commits too: the attempt must count.
	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		valid, err = s.consumeCode(ctx, tx, models.PurposeLogin, id, "", req.GetCode())
		if err != nil || !valid {
			return err
		}

		out, err = s.signIn(ctx, tx, id)

		return err
	})

	switch {
	case err != nil:
		return nil, err
	case !valid:
		return nil, errInvalidCode
	}

	return s.loginResponse(out)
}

// signIn finds or creates the user and opens a session, inside tx, and
// publishes user.created (first login) and auth.session_created with them.
func (s *Service) signIn(ctx context.Context, tx repository.Repository, id identity) (login, error) {
	user, created, err := s.findOrCreateUser(ctx, tx, id)
	if err != nil {
		return login{}, err
	}

	return s.startSession(ctx, tx, user, created)
}

// startSession opens a session of user inside tx, and publishes
// user.created (when created is true) and auth.session_created with it:
// every sign-in, by code or by provider, ends here.
func (s *Service) startSession(ctx context.Context, tx repository.Repository, user models.User, created bool) (login, error) {
	session, refresh, err := s.openSession(ctx, tx, user.ID)
	if err != nil {
		return login{}, err
	}

	if created {
		if err := tx.Publish(ctx, authevents.UserCreated{UserID: user.ID, Email: user.Email, Phone: user.Phone}); err != nil {
			return login{}, err
		}
	}

	err = tx.Publish(ctx, authevents.SessionCreated{
		UserID: user.ID, SessionID: session.ID, IPAddress: session.IPAddress, UserAgent: session.UserAgent,
	})
	if err != nil {
		return login{}, err
	}

	return login{user: user, session: session, refresh: refresh, created: created}, nil
}

func (s *Service) findOrCreateUser(ctx context.Context, tx repository.Repository, id identity) (models.User, bool, error) {
	lookup := tx.UserByEmail
	if id.channel == notifier.ChannelSMS {
		lookup = tx.UserByPhone
	}

	user, err := lookup(ctx, id.value)
	if !errors.IsType(err, errors.TypeNotFound) {
		return user, false, err
	}

	userID, err := ids.New(prefixUser)
	if err != nil {
		return models.User{}, false, err
	}

	u := models.User{ID: userID, Role: authz.RoleUser, CreatedAt: s.now()}
	if id.channel == notifier.ChannelSMS {
		u.Phone = id.value
	} else {
		u.Email = id.value
	}

	user, err = tx.CreateUser(ctx, u)

	return user, true, err
}

// openSession creates a session and its first refresh token.
func (s *Service) openSession(ctx context.Context, tx repository.Repository, userID string) (models.Session, string, error) {
	sessionID, err := ids.New(prefixSession)
	if err != nil {
		return models.Session{}, "", err
	}

	now := s.now()
	session := models.Session{
		ID: sessionID, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL),
		UserAgent: reqmeta.UserAgent(ctx), IPAddress: reqmeta.ClientIP(ctx),
	}

	if err := tx.CreateSession(ctx, session); err != nil {
		return models.Session{}, "", err
	}

	refresh, err := newRefreshToken()
	if err != nil {
		return models.Session{}, "", err
	}

	return session, refresh, s.storeRefreshToken(ctx, tx, session, refresh)
}

// storeRefreshToken stores token's hash as session's usable refresh token.
func (s *Service) storeRefreshToken(ctx context.Context, tx repository.Repository, session models.Session, token string) error {
	return tx.CreateRefreshToken(ctx, models.RefreshToken{
		Hash: hashToken(token), SessionID: session.ID, CreatedAt: s.now(), ExpiresAt: session.ExpiresAt,
	})
}

func (s *Service) loginResponse(out login) (*authv1.CompleteLoginResponse, error) {
	tokens, err := s.tokenPair(out.user, out.session, out.refresh)
	if err != nil {
		return nil, err
	}

	return &authv1.CompleteLoginResponse{Tokens: tokens, User: toProtoUser(out.user), NewUser: out.created}, nil
}

// tokenPair issues an access token that ends with its session at the
// latest: the platform's session cache keeps a check no longer than the
// token that made it is valid, hence never past the session's end.
func (s *Service) tokenPair(user models.User, session models.Session, refresh string) (*authv1.Tokens, error) {
	now := s.now()
	ttl := min(s.cfg.AccessTokenTTL, session.ExpiresAt.Sub(now))

	access, _, err := s.tokens.IssueAccess(user.ID, session.ID, user.Role, now, ttl)
	if err != nil {
		return nil, errors.Internal("issue access token", err)
	}

	return &authv1.Tokens{
		AccessToken:      access,
		RefreshToken:     refresh,
		TokenType:        "Bearer",
		ExpiresIn:        seconds(ttl),
		RefreshExpiresAt: timestamppb.New(session.ExpiresAt),
	}, nil
}

// errInvalidRefresh answers every refresh token that cannot be used.
var errInvalidRefresh = errors.WithCode(errors.CodeAuthTokenInvalid, "invalid or expired refresh token")

// RefreshToken rotates a refresh token. A token works once: presenting a
// used token again means it was stolen (or the client is confused), so the
// whole session is revoked — except within AUTH_REFRESH_REUSE_GRACE of its
// use, when it yields the successor already issued (with a fresh access
// token), so that two tabs refreshing at once both stay signed in.
func (s *Service) RefreshToken(ctx context.Context, req *authv1.RefreshTokenRequest) (_ *authv1.RefreshTokenResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "RefreshToken")
	defer end(&err)

	var (
		user      models.User
		session   models.Session
		verdict   rotation
		refresh   string
		presented = req.GetRefreshToken()
	)

	// A detected reuse commits too: it has revoked the session.
	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		session, verdict, refresh, err = s.rotate(ctx, tx, presented, s.successorTokens(presented))
		if err != nil || verdict.err() != nil {
			return err
		}

		if user, err = tx.User(ctx, session.UserID); err != nil || verdict == replayed {
			return err
		}

		return s.storeRefreshToken(ctx, tx, session, refresh)
	})
	if err != nil {
		return nil, err
	}

	// The thief, holding the session's access token, must be refused
	// everywhere from now on; the answer stays the reuse either way.
	if verdict == reused {
		if err := s.forgetSessions(ctx, session.ID); err != nil {
			s.logger.WarnContext(ctx, "revoked session not forgotten by every replica", "session_id", session.ID, "error", err)
		}
	}

	if err := verdict.err(); err != nil {
		return nil, err
	}

	tokens, err := s.tokenPair(user, session, refresh)
	if err != nil {
		return nil, err
	}

	return &authv1.RefreshTokenResponse{Tokens: tokens}, nil
}

// rotation is what became of a presented refresh token.
type rotation int

const (
	rejected rotation = iota // unknown, expired, or its session ended
	rotated                  // consumed; its session is live
	replayed                 // used within the grace; its successor is still usable
	reused                   // used before: its session is now revoked
)

// err is the answer to a token that was not exchanged; nil when it was.
func (r rotation) err() error {
	switch r {
	case rotated, replayed:
		return nil
	case reused:
		return errors.WithCode(errors.CodeAuthTokenReused, "refresh token already used; the session is revoked")
	default:
		return errInvalidRefresh
	}
}

// rotate consumes the presented refresh token and returns its live
// session and the token it is exchanged for: the first of successors
// (successorTokens), or, for a replay within the grace, the one the first
// exchange issued.
func (s *Service) rotate(ctx context.Context, tx repository.Repository, presented string, successors []string) (models.Session, rotation, string, error) {
	now := s.now()
	hash := hashToken(presented)

	sessionID, err := tx.UseRefreshToken(ctx, hash, now)
	if errors.IsType(err, errors.TypeNotFound) {
		return s.unusableToken(ctx, tx, hash, successors, now)
	}

	if err != nil {
		return models.Session{}, rejected, "", err
	}

	session, err := tx.Session(ctx, sessionID)
	if err != nil {
		return models.Session{}, rejected, "", err
	}

	if !session.Active(now) {
		return models.Session{}, rejected, "", nil
	}

	return session, rotated, successors[0], nil
}

// unusableToken tells why a refresh token could not be used. A token used
// within the grace whose successor is still unused is a concurrent
// exchange: the session goes on with that successor. Any other used token
// revokes its session.
func (s *Service) unusableToken(ctx context.Context, tx repository.Repository, hash []byte, successors []string, now time.Time) (models.Session, rotation, string, error) {
	rt, err := tx.RefreshToken(ctx, hash)

	switch {
	case errors.IsType(err, errors.TypeNotFound):
		return models.Session{}, rejected, "", nil
	case err != nil:
		return models.Session{}, rejected, "", err
	case rt.UsedAt == nil:
		return models.Session{}, rejected, "", nil // expired
	}

	session, err := tx.Session(ctx, rt.SessionID)
	if err != nil {
		return models.Session{}, rejected, "", err
	}

	live, err := s.inGrace(ctx, tx, rt, successors, now)
	if err != nil || (live != "" && session.Active(now)) {
		return session, replayed, live, err
	}

	if err := s.revokeSessions(ctx, tx, session.UserID, []string{session.ID}, now); err != nil {
		return models.Session{}, rejected, "", err
	}

	s.logger.WarnContext(ctx, "refresh token reused; session revoked", "session_id", rt.SessionID)

	return session, reused, "", nil
}

// inGrace returns the successor used, a used token, was exchanged for,
// when that was no longer than the grace ago and the successor is still
// usable; else "". The exchange may have derived it under the previous
// refresh key, before a rotation of the platform secret: every candidate
// of successors is looked up.
func (s *Service) inGrace(ctx context.Context, tx repository.Repository, used models.RefreshToken, successors []string, now time.Time) (string, error) {
	if s.cfg.RefreshReuseGrace <= 0 || now.Sub(*used.UsedAt) > s.cfg.RefreshReuseGrace {
		return "", nil
	}

	for _, successor := range successors {
		next, err := tx.RefreshToken(ctx, hashToken(successor))

		switch {
		case errors.IsType(err, errors.TypeNotFound):
			continue
		case err != nil:
			return "", err
		}

		if next.SessionID == used.SessionID && next.UsedAt == nil && now.Before(next.ExpiresAt) {
			return successor, nil
		}
	}

	return "", nil
}

// Logout revokes the caller's session, or all of the caller's sessions.
func (s *Service) Logout(ctx context.Context, req *authv1.LogoutRequest) (_ *authv1.LogoutResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "Logout")
	defer end(&err)

	caller, ok := authn.FromContext(ctx)
	if !ok {
		return nil, errors.Unauthorized("authentication required")
	}

	var revoked []string

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		now := s.now()

		if req.GetAllSessions() {
			revoked, err = tx.RevokeUserSessions(ctx, caller.UserID, now)
			if err != nil {
				return err
			}

			return s.announceRevoked(ctx, tx, caller.UserID, revoked)
		}

		revoked, err = s.revokeSession(ctx, tx, caller.UserID, caller.SessionID, now)

		return err
	})
	if err != nil {
		return nil, err
	}

	if err := s.forgetSessions(ctx, revoked...); err != nil {
		return nil, err
	}

	return &authv1.LogoutResponse{Revoked: clampInt32(int64(len(revoked)))}, nil
}

// revokeSession ends one session if it is live, and announces it; it
// returns the IDs it ended (none or one).
func (s *Service) revokeSession(ctx context.Context, tx repository.Repository, userID, sessionID string, now time.Time) ([]string, error) {
	done, err := tx.RevokeSession(ctx, sessionID, now)
	if err != nil || !done {
		return nil, err
	}

	return []string{sessionID}, s.announceRevoked(ctx, tx, userID, []string{sessionID})
}

// revokeSessions ends sessions known to be live and announces them.
func (s *Service) revokeSessions(ctx context.Context, tx repository.Repository, userID string, ids []string, now time.Time) error {
	for _, id := range ids {
		if _, err := s.revokeSession(ctx, tx, userID, id, now); err != nil {
			return err
		}
	}

	return nil
}

// forgetSessions makes the session cache of every replica forget ids,
// whose end committed: it returns once they all did, so that the very
// next request with one of them fails on any replica.
func (s *Service) forgetSessions(ctx context.Context, ids ...string) error {
	if s.sessions == nil || len(ids) == 0 {
		return nil
	}

	if err := s.sessions.InvalidateSessions(ctx, ids...); err != nil {
		return errors.Unavailable("the session ended, but other servers may accept it until their cache expires",
			errors.WithCause(err))
	}

	return nil
}

// announceRevoked publishes auth.session_revoked for each session, so
// WebSockets opened with them close everywhere.
func (s *Service) announceRevoked(ctx context.Context, tx repository.Repository, userID string, ids []string) error {
	for _, id := range ids {
		if err := tx.Publish(ctx, authevents.SessionRevoked{UserID: userID, SessionID: id}); err != nil {
			return err
		}
	}

	return nil
}

func seconds(d time.Duration) int32 {
	return clampInt32(int64(d / time.Second))
}

func clampInt32(n int64) int32 {
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	default:
		return int32(n)
	}
}
