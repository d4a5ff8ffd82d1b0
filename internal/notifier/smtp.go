package notifier

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLSMode says how an SMTP connection is protected.
type TLSMode string

// The TLS modes.
const (
	// TLSStartTLS connects in clear and upgrades with STARTTLS before
	// anything else is said; a server that does not offer it is an error,
	// never a reason to continue in clear.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (usually port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone never encrypts: for a relay on the same host, or dev.
	TLSNone TLSMode = "none"
)

// DefaultTimeout bounds one message when a provider's Timeout is zero.
const DefaultTimeout = 10 * time.Second

// SMTPConfig configures an SMTP email provider.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // optional; set together with Password
	Password string
	// From is the sender, a bare address or one with a display name
	// ("Example <no-reply@example.com>").
	From    string
	TLS     TLSMode       // "" means TLSStartTLS
	Timeout time.Duration // bounds one message, connection included; 0 means DefaultTimeout
	// TLSConfig, when set, is cloned for the connection (for instance to
	// trust a private CA); its ServerName defaults to Host.
	TLSConfig *tls.Config
}

// SMTP sends email through an SMTP submission server with go-mail, one
// connection per message. It logs nothing, so neither bodies nor codes
// reach a log.
type SMTP struct {
	cfg     SMTPConfig
	from    *mail.Address
	tlsConf *tls.Config
}

// NewSMTP returns an SMTP provider for cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address: %w", err)
	}

	cfg.TLS = cmp.Or(cfg.TLS, TLSStartTLS)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)

	if err := checkSMTPConfig(cfg); err != nil {
		return nil, err
	}

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConf = cfg.TLSConfig.Clone()
	}

	tlsConf.ServerName = cmp.Or(tlsConf.ServerName, cfg.Host)

	return &SMTP{cfg: cfg, from: from, tlsConf: tlsConf}, nil
}

func checkSMTPConfig(cfg SMTPConfig) error {
	switch {
	case cfg.Host == "":
		return errors.New("smtp: no host")
	case cfg.Port < 1 || cfg.Port > 65535:
		return fmt.Errorf("smtp: port %d out of range", cfg.Port)
	case cfg.TLS != TLSStartTLS && cfg.TLS != TLSImplicit && cfg.TLS != TLSNone:
		return fmt.Errorf("smtp: unknown TLS mode %q", cfg.TLS)
	case cfg.Timeout < 0:
		return fmt.Errorf("smtp: negative timeout %s", cfg.Timeout)
	case (cfg.Username == "") != (cfg.Password == ""):
		return errors.New("smtp: username and password go together")
	default:
		return nil
	}
}

// SendEmail sends m as a multipart/alternative message (text, then HTML;
// text alone when m has no HTML) within the provider's timeout and ctx.
// A rejection by the server comes back with its reply code in the text.
func (s *SMTP) SendEmail(ctx context.Context, m Email) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("smtp: recipient: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	if err := s.send(ctx, s.compose(to, m, time.Now())); err != nil {
		return fmt.Errorf("smtp %s: %w", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), withCause(ctx, err))
	}

	return nil
}

// withCause adds to err why ctx ended, if it did. go-mail's own deadlines,
// set from the same timeout but after ctx's, can fail a read a moment
// before ctx reports its end: past ctx's deadline, that is the cause.
func withCause(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if deadline, ok := ctx.Deadline(); cause == nil && ok && !time.Now().Before(deadline) {
		cause = context.DeadlineExceeded
	}

	if cause == nil || errors.Is(err, cause) {
		return err
	}

	return fmt.Errorf("%w: %w", cause, err)
}

// send runs one SMTP session. go-mail bounds each command with the timeout
// but sees ctx only while dialling, so the connection is closed when ctx
// ends, which fails whatever read or write is blocked.
func (s *SMTP) send(ctx context.Context, msg *gomail.Msg) error {
	stop := func() bool { return false }
	defer func() { stop() }()

	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		conn, err := s.dial(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}

		stop = context.AfterFunc(ctx, func() { _ = conn.Close() })

		return conn, nil
	}

	client, err := gomail.NewClient(s.cfg.Host, s.options(dial)...)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}

	// STARTTLS and AUTH happen while connecting. PLAIN authentication (not
	// its NoEnc variant) refuses to send credentials over a connection
	// that is neither TLS nor to localhost.
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}

	err = client.SendWithSMTPClient(conn, msg)

	// Once the server has accepted the message a failed QUIT must not make
	// the bus send it again.
	_ = client.CloseWithSMTPClient(conn)

	if err != nil {
		return fmt.Errorf("send: %w", err)
	}

	return nil
}

// options configures go-mail for one session as the TLS mode requires.
func (s *SMTP) options(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSConfig(s.tlsConf),
		gomail.WithDialContextFunc(dial),
	}

	switch s.cfg.TLS {
	case TLSImplicit:
		// dial speaks TLS itself; WithSSL tells go-mail not to STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}

	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}

	return opts
}

// dial connects, in TLS from the first byte in implicit mode. A custom
// dialer replaces go-mail's, which would otherwise do the TLS part.
func (s *SMTP) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var (
		conn net.Conn
		err  error
	)

	if s.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{Config: s.tlsConf}).DialContext(ctx, network, addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
	}

	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}

	return conn, nil
}

// compose builds the message. go-mail encodes the subject as encoded words
// and the parts as quoted-printable UTF-8, so no field of m can inject a
// header and the message stays 7-bit clean for any relay.
func (s *SMTP) compose(to *mail.Address, m Email, now time.Time) *gomail.Msg {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(messageID(s.from.Address))
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)

	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	return msg
}

// messageID returns a unique Message-ID (without its angle brackets) in
// the sender's domain.
func messageID(from string) string {
	domain := "localhost"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}

	return strings.ToLower(rand.Text()) + "@" + domain
}
