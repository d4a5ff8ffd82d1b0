package notifier

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
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

// ErrNoSTARTTLS reports a server that does not offer STARTTLS although the
// connection requires it.
var ErrNoSTARTTLS = errors.New("server does not offer STARTTLS")

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

// SMTP sends email through an SMTP submission server, one connection per
// message. It logs nothing, so neither bodies nor codes reach a log.
type SMTP struct {
	addr    string
	host    string
	from    *mail.Address
	auth    smtp.Auth // nil without credentials
	mode    TLSMode
	timeout time.Duration
	tlsConf *tls.Config
}

// NewSMTP returns an SMTP provider for cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address: %w", err)
	}

	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}

	if err := checkSMTPConfig(cfg); err != nil {
		return nil, err
	}

	s := &SMTP{
		addr:    net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		host:    cfg.Host,
		from:    from,
		mode:    cfg.TLS,
		timeout: cmp.Or(cfg.Timeout, DefaultTimeout),
		tlsConf: &tls.Config{MinVersion: tls.VersionTLS12},
	}

	if cfg.TLSConfig != nil {
		s.tlsConf = cfg.TLSConfig.Clone()
	}

	if s.tlsConf.ServerName == "" {
		s.tlsConf.ServerName = cfg.Host
	}

	if cfg.Username != "" {
		// PlainAuth refuses to send the password over a connection that is
		// neither TLS nor to localhost.
		s.auth = smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)
	}

	return s, nil
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

// SendEmail sends m as a multipart/alternative message (text, then HTML)
// within the provider's timeout and ctx. A rejection by the server comes
// back wrapping its *textproto.Error.
func (s *SMTP) SendEmail(ctx context.Context, m Email) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("smtp: recipient: %w", err)
	}

	msg, err := s.compose(to, m, time.Now())
	if err != nil {
		return fmt.Errorf("smtp: compose: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	if err := s.send(ctx, to.Address, msg); err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}

		return fmt.Errorf("smtp %s: %w", s.addr, err)
	}

	return nil
}

// send runs one SMTP session. net/smtp knows no context, so the connection
// is given an expired deadline when ctx ends, which fails whatever read or
// write is blocked.
func (s *SMTP) send(ctx context.Context, rcpt string, msg []byte) error {
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}

	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		_ = conn.Close()

		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()

	if err := s.hello(c); err != nil {
		return err
	}

	if err := transfer(c, s.from.Address, rcpt, msg); err != nil {
		return err
	}

	// The server has accepted the message: a failed QUIT must not make the
	// bus send it again.
	_ = c.Quit()

	return nil
}

func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	var (
		conn net.Conn
		err  error
	)

	if s.mode == TLSImplicit {
		conn, err = (&tls.Dialer{Config: s.tlsConf}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	}

	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}

	return conn, nil
}

// hello secures the session as the TLS mode requires, then authenticates.
func (s *SMTP) hello(c *smtp.Client) error {
	if s.mode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrNoSTARTTLS
		}

		if err := c.StartTLS(s.tlsConf); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}

	if s.auth == nil {
		return nil
	}

	if err := c.Auth(s.auth); err != nil {
		return fmt.Errorf("auth: %w", err)
	}

	return nil
}

// transfer sends the envelope and the message.
func transfer(c *smtp.Client, from, rcpt string, msg []byte) error {
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}

	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}

	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}

	if _, err := w.Write(msg); err != nil {
		_ = w.Close()

		return fmt.Errorf("data: %w", err)
	}

	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}

	return nil
}

// compose renders m as an RFC 5322 message with CRLF line endings. Header
// values are either parsed addresses or encoded words, so no field of m can
// inject a header.
func (s *SMTP) compose(to *mail.Address, m Email, now time.Time) ([]byte, error) {
	var body bytes.Buffer

	parts := multipart.NewWriter(&body)

	if err := writePart(parts, "text/plain", m.Text); err != nil {
		return nil, err
	}

	if m.HTML != "" {
		if err := writePart(parts, "text/html", m.HTML); err != nil {
			return nil, err
		}
	}

	if err := parts.Close(); err != nil {
		return nil, fmt.Errorf("close multipart: %w", err)
	}

	header := [][2]string{
		{"From", s.from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", messageID(s.from.Address)},
		{"MIME-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": parts.Boundary()})},
	}

	var msg bytes.Buffer
	for _, h := range header {
		msg.WriteString(h[0] + ": " + h[1] + "\r\n")
	}

	msg.WriteString("\r\n")
	msg.Write(body.Bytes())

	return msg.Bytes(), nil
}

// writePart adds a quoted-printable UTF-8 part, which keeps the message
// 7-bit clean for any relay.
func writePart(w *multipart.Writer, contentType, content string) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", mime.FormatMediaType(contentType, map[string]string{"charset": "utf-8"}))
	h.Set("Content-Transfer-Encoding", "quoted-printable")

	part, err := w.CreatePart(h)
	if err != nil {
		return fmt.Errorf("create %s part: %w", contentType, err)
	}

	qp := quotedprintable.NewWriter(part)
	if _, err := qp.Write([]byte(content)); err != nil {
		return fmt.Errorf("write %s part: %w", contentType, err)
	}

	if err := qp.Close(); err != nil {
		return fmt.Errorf("write %s part: %w", contentType, err)
	}

	return nil
}

// messageID returns a unique Message-ID in the sender's domain.
func messageID(from string) string {
	domain := "localhost"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}

	return "<" + strings.ToLower(rand.Text()) + "@" + domain + ">"
}
