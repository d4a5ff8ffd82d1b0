package notifier_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/notifier"
)

// smtpServerOptions shape the fake server's behaviour.
type smtpServerOptions struct {
	tls        *tls.Config // offered by STARTTLS when set
	implicit   bool        // TLS from the first byte (needs tls)
	noSTARTTLS bool        // do not advertise STARTTLS even with tls set
	rejectRcpt bool        // answer RCPT with 550
	deferRcpts int         // answer the first deferRcpts RCPT commands with 451
	rejectAuth bool        // answer AUTH with 535
	stall      bool        // accept connections and never answer
	host       string      // listens on this loopback address; "" means 127.0.0.1
}

// session is what the fake server recorded of one SMTP session.
type session struct {
	TLS  bool
	Auth string // the decoded AUTH PLAIN response: "\x00user\x00password"
	From string
	Rcpt []string
	Data string
}

// fakeSMTP is a minimal SMTP server on 127.0.0.1: EHLO, STARTTLS, AUTH
// PLAIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT, enough for go-mail.
type fakeSMTP struct {
	ctx  context.Context // the test's: ends TLS handshakes with it
	opts smtpServerOptions
	ln   net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	sessions []session
	auths    int // AUTH commands received, whether or not a message followed
	deferred int // RCPT commands answered 451
	conns    []net.Conn
}

func startSMTP(t *testing.T, opts smtpServerOptions) *fakeSMTP {
	t.Helper()

	host := opts.host
	if host == "" {
		host = "127.0.0.1"
	}

	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}

	if opts.implicit {
		ln = tls.NewListener(ln, opts.tls)
	}

	f := &fakeSMTP{ctx: t.Context(), opts: opts, ln: ln}

	f.wg.Go(f.accept)
	t.Cleanup(func() {
		_ = ln.Close()

		f.mu.Lock()
		for _, c := range f.conns {
			_ = c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})

	return f
}

func (f *fakeSMTP) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *fakeSMTP) recorded() []session {
	f.mu.Lock()
	defer f.mu.Unlock()

	return append([]session(nil), f.sessions...)
}

// authCount returns how many times a client sent credentials.
func (f *fakeSMTP) authCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.auths
}

func (f *fakeSMTP) accept() {
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}

		f.mu.Lock()
		f.conns = append(f.conns, conn)
		f.mu.Unlock()
		f.wg.Go(func() { f.serve(conn) })
	}
}

func (f *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()

	if f.opts.stall {
		_, _ = io.Copy(io.Discard, conn)

		return
	}

	c := &smtpConn{f: f, conn: conn, tp: textproto.NewConn(conn), s: session{TLS: f.opts.implicit}}
	c.reply("220 fake ESMTP")

	for {
		line, err := c.tp.ReadLine()
		if err != nil {
			return
		}

		verb, arg, _ := strings.Cut(line, " ")

		handle, ok := smtpVerbs[strings.ToUpper(verb)]
		if !ok {
			c.reply("502 unknown command")

			continue
		}

		if !handle(c, arg) {
			return
		}
	}
}

// smtpConn is one connection to the fake server.
type smtpConn struct {
	f    *fakeSMTP
	conn net.Conn
	tp   *textproto.Conn
	s    session
}

// smtpVerbs handle each command; false ends the session.
var smtpVerbs = map[string]func(c *smtpConn, arg string) bool{
	"EHLO":     (*smtpConn).ehlo,
	"HELO":     (*smtpConn).ehlo,
	"STARTTLS": (*smtpConn).startTLS,
	"AUTH":     (*smtpConn).auth,
	"MAIL":     (*smtpConn).mail,
	"RCPT":     (*smtpConn).rcpt,
	"DATA":     (*smtpConn).data,
	"RSET":     (*smtpConn).ok,
	"NOOP":     (*smtpConn).ok,
	"QUIT":     func(c *smtpConn, _ string) bool { c.reply("221 bye"); return false },
}

func (c *smtpConn) reply(line string) { _ = c.tp.PrintfLine("%s", line) }

func (c *smtpConn) ok(string) bool {
	c.reply("250 ok")

	return true
}

func (c *smtpConn) ehlo(string) bool {
	lines := []string{"250-fake.test"}
	if c.f.opts.tls != nil && !c.s.TLS && !c.f.opts.noSTARTTLS {
		lines = append(lines, "250-STARTTLS")
	}

	lines = append(lines, "250-AUTH PLAIN", "250 8BITMIME")
	c.reply(strings.Join(lines, "\r\n"))

	return true
}

func (c *smtpConn) startTLS(string) bool {
	c.reply("220 go ahead")

	tc := tls.Server(c.conn, c.f.opts.tls)
	if tc.HandshakeContext(c.f.ctx) != nil {
		return false
	}

	c.conn, c.tp, c.s.TLS = tc, textproto.NewConn(tc), true

	return true
}

func (c *smtpConn) auth(arg string) bool {
	resp, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(arg, "PLAIN "))
	c.s.Auth = string(resp)

	c.f.mu.Lock()
	c.f.auths++
	c.f.mu.Unlock()

	if c.f.opts.rejectAuth {
		c.reply("535 5.7.8 authentication failed")
	} else {
		c.reply("235 ok")
	}

	return true
}

func (c *smtpConn) mail(arg string) bool {
	c.s.From = pathOf(arg)

	return c.ok(arg)
}

func (c *smtpConn) rcpt(arg string) bool {
	if c.f.opts.rejectRcpt {
		c.reply("550 5.1.1 no such user")

		return true
	}

	c.f.mu.Lock()

	deferred := c.f.deferred < c.f.opts.deferRcpts
	if deferred {
		c.f.deferred++
	}
	c.f.mu.Unlock()

	if deferred {
		c.reply("451 4.3.0 try again later")

		return true
	}

	c.s.Rcpt = append(c.s.Rcpt, pathOf(arg))

	return c.ok(arg)
}

func (c *smtpConn) data(string) bool {
	c.reply("354 go on")

	data, err := c.tp.ReadDotBytes()
	if err != nil {
		return false
	}

	c.s.Data = string(data)

	c.f.mu.Lock()
	c.f.sessions = append(c.f.sessions, c.s)
	c.f.mu.Unlock()

	c.reply("250 queued")

	return true
}

// pathOf returns the address in "FROM:<addr> PARAMS" or "TO:<addr>".
func pathOf(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")

	return addr
}

// testCert returns a server TLS config for 127.0.0.1 and a client config
// trusting it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fake smtp"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(cert)

	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	return server, client
}

// testEmail is what the templates would produce, with non-ASCII text to
// exercise the encodings.
var testEmail = notifier.Email{
	To:      "ada@example.com",
	Subject: "Votre code : 123456 — connexion",
	Text:    "Votre code est 123456.\nIl expire dans 10 minutes. Café ☕\n",
	HTML:    "<!doctype html>\n<html><body><p>Votre code est <b>123456</b>. Café ☕</p>" + strings.Repeat("<br>", 40) + "</body></html>\n",
}

func TestSMTPSends(t *testing.T) {
	t.Parallel()

	serverTLS, clientTLS := testCert(t)

	tests := []struct {
		name     string
		server   smtpServerOptions
		mode     notifier.TLSMode
		user     string
		wantAuth string
	}{
		{name: "no TLS, no auth", mode: notifier.TLSNone},
		{name: "no TLS, auth on loopback", mode: notifier.TLSNone, user: "mailer", wantAuth: "\x00mailer\x00pw-s3cret"},
		{name: "STARTTLS", server: smtpServerOptions{tls: serverTLS}, mode: notifier.TLSStartTLS, user: "mailer", wantAuth: "\x00mailer\x00pw-s3cret"},
		{name: "STARTTLS by default", server: smtpServerOptions{tls: serverTLS}},
		{name: "implicit TLS", server: smtpServerOptions{tls: serverTLS, implicit: true}, mode: notifier.TLSImplicit, user: "mailer", wantAuth: "\x00mailer\x00pw-s3cret"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			srv := startSMTP(t, tt.server)
			cfg := notifier.SMTPConfig{
				Host: "127.0.0.1", Port: srv.port(), From: "Modulith Team <no-reply@example.com>", TLS: tt.mode, TLSConfig: clientTLS,
			}

			if tt.user != "" {
				cfg.Username, cfg.Password = tt.user, "pw-s3cret"
			}

			if err := newSMTP(t, cfg).SendEmail(t.Context(), testEmail); err != nil {
				t.Fatalf("SendEmail() = %v", err)
			}

			got := srv.recorded()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}

			wantTLS := tt.mode != notifier.TLSNone
			envelope := session{TLS: got[0].TLS, Auth: got[0].Auth, From: got[0].From, Rcpt: got[0].Rcpt}
			want := session{TLS: wantTLS, Auth: tt.wantAuth, From: "no-reply@example.com", Rcpt: []string{"ada@example.com"}}

			if diff := cmp.Diff(want, envelope); diff != "" {
				t.Errorf("session (-want +got):\n%s", diff)
			}

			checkMessage(t, got[0].Data, testEmail)
		})
	}
}

// checkMessage parses data as a message and checks its headers and parts
// against m.
func checkMessage(t *testing.T, data string, m notifier.Email) {
	t.Helper()

	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage() = %v\n%s", err, data)
	}

	h := msg.Header

	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Errorf("Subject %q does not decode: %v", h.Get("Subject"), err)
	}

	got := map[string]string{
		"From": h.Get("From"), "To": h.Get("To"), "Subject": subject, "MIME-Version": h.Get("MIME-Version"),
	}
	want := map[string]string{
		"From": `"Modulith Team" <no-reply@example.com>`, "To": "<ada@example.com>", "Subject": m.Subject, "MIME-Version": "1.0",
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}

	if date, err := h.Date(); err != nil || time.Since(date).Abs() > time.Minute {
		t.Errorf("Date = %q (%v), want about now", h.Get("Date"), err)
	}

	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[a-z0-9]{20,}@example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID = %q, want <random@example.com>", id)
	}

	for _, line := range strings.Split(data, "\n") {
		if len(line) > 998 {
			t.Errorf("line of %d bytes exceeds RFC 5322's 998", len(line))
		}
	}

	if i := strings.IndexFunc(data, func(r rune) bool { return r > 127 }); i >= 0 {
		t.Errorf("byte %d of the message is not 7-bit: %q", i, data[max(0, i-20):i+1])
	}

	checkParts(t, h.Get("Content-Type"), msg.Body, m)
}

// checkParts checks that body is multipart/alternative with m's text, then
// its HTML, each UTF-8.
func checkParts(t *testing.T, contentType string, body io.Reader, m notifier.Email) {
	t.Helper()

	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", contentType, err)
	}

	type part struct{ ContentType, Content string }

	var got []part

	r := multipart.NewReader(body, params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			t.Fatalf("NextPart() = %v", err)
		}

		content, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}

		got = append(got, part{partType(t, p.Header.Get("Content-Type")), string(content)})
	}

	want := []part{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	}

	// The reader decodes quoted-printable; only line endings may differ.
	for i := range got {
		got[i].Content = strings.ReplaceAll(got[i].Content, "\r\n", "\n")
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
}

// partType returns contentType normalised: media type and charset in
// lower case (charset names are case-insensitive).
func partType(t *testing.T, contentType string) string {
	t.Helper()

	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", contentType, err)
	}

	return mime.FormatMediaType(mediaType, map[string]string{"charset": strings.ToLower(params["charset"])})
}

func newSMTP(t *testing.T, cfg notifier.SMTPConfig) *notifier.SMTP {
	t.Helper()

	s, err := notifier.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP() = %v", err)
	}

	return s
}

func TestSMTPHeadersCannotBeInjected(t *testing.T) {
	t.Parallel()

	srv := startSMTP(t, smtpServerOptions{})
	s := newSMTP(t, notifier.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@example.com", TLS: notifier.TLSNone})

	m := testEmail
	m.Subject = "Your code\r\nBcc: eve@example.com"

	if err := s.SendEmail(t.Context(), m); err != nil {
		t.Fatalf("SendEmail() = %v", err)
	}

	msg, err := mail.ReadMessage(strings.NewReader(srv.recorded()[0].Data))
	if err != nil {
		t.Fatal(err)
	}

	if bcc := msg.Header.Get("Bcc"); bcc != "" {
		t.Errorf("Subject %q injected the header Bcc: %s", m.Subject, bcc)
	}
}

func TestSMTPTextOnly(t *testing.T) {
	t.Parallel()

	srv := startSMTP(t, smtpServerOptions{})
	s := newSMTP(t, notifier.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@example.com", TLS: notifier.TLSNone})

	if err := s.SendEmail(t.Context(), notifier.Email{To: "ada@example.com", Subject: "Hi", Text: "code 1"}); err != nil {
		t.Fatalf("SendEmail() = %v", err)
	}

	msg, err := mail.ReadMessage(strings.NewReader(srv.recorded()[0].Data))
	if err != nil {
		t.Fatal(err)
	}

	// Without HTML there is nothing to offer an alternative to: a plain
	// text message, not a multipart with one part or an empty HTML part.
	if got := partType(t, msg.Header.Get("Content-Type")); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=utf-8", got)
	}

	body, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}

	if got := strings.TrimSpace(string(body)); got != "code 1" {
		t.Errorf("body = %q, want %q", got, "code 1")
	}
}

func TestSMTPErrors(t *testing.T) {
	t.Parallel()

	serverTLS, clientTLS := testCert(t)

	tests := []struct {
		name     string
		server   smtpServerOptions
		host     string // SMTP_HOST; "" means 127.0.0.1
		mode     notifier.TLSMode
		noRoots  bool
		want     string // in the error: the server's reply code, or what went wrong
		wantAuth bool   // the credentials reached the server
	}{
		{name: "RCPT rejected", mode: notifier.TLSNone, server: smtpServerOptions{rejectRcpt: true}, want: "550", wantAuth: true},
		{name: "AUTH rejected", mode: notifier.TLSNone, server: smtpServerOptions{rejectAuth: true}, want: "535", wantAuth: true},
		{name: "STARTTLS required, not offered", server: smtpServerOptions{tls: serverTLS, noSTARTTLS: true}, want: "STARTTLS"},
		{name: "STARTTLS to an untrusted certificate", server: smtpServerOptions{tls: serverTLS}, noRoots: true, want: "certificate"},
		{name: "implicit TLS to a plain server", mode: notifier.TLSImplicit, want: "tls"},
		{
			// Credentials in clear only to localhost, 127.0.0.1 or ::1 by
			// name: 127.0.0.2 stands for any other host here.
			name: "credentials in clear to another host", mode: notifier.TLSNone,
			server: smtpServerOptions{host: "127.0.0.2"}, host: "127.0.0.2", want: "unencrypted",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			srv := startSMTP(t, tt.server)
			cfg := notifier.SMTPConfig{
				Host: "127.0.0.1", Port: srv.port(), From: "no-reply@example.com", TLS: tt.mode,
				Username: "mailer", Password: "pw-s3cret", TLSConfig: clientTLS, Timeout: 5 * time.Second,
			}

			if tt.host != "" {
				cfg.Host = tt.host
			}

			if tt.noRoots {
				cfg.TLSConfig = nil
			}

			checkRefused(t, srv, newSMTP(t, cfg).SendEmail(t.Context(), testEmail), tt.want, tt.wantAuth)
		})
	}
}

// checkRefused checks that err says want and leaks no secret, that srv
// received no message, and the credentials only when wantAuth.
func checkRefused(t *testing.T, srv *fakeSMTP, err error, want string, wantAuth bool) {
	t.Helper()

	if err == nil {
		t.Fatal("SendEmail() = nil, want an error")
	}

	if !strings.Contains(err.Error(), want) {
		t.Errorf("SendEmail() = %v, want an error saying %q", err, want)
	}

	if strings.Contains(err.Error(), "pw-s3cret") || strings.Contains(err.Error(), "123456") {
		t.Errorf("SendEmail() = %v: leaks the password or the code", err)
	}

	if got := srv.authCount() > 0; got != wantAuth {
		t.Errorf("credentials sent = %t, want %t", got, wantAuth)
	}

	if len(srv.recorded()) != 0 {
		t.Errorf("server received %d messages, want none", len(srv.recorded()))
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	t.Parallel()

	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()

	s := newSMTP(t, notifier.SMTPConfig{Host: "127.0.0.1", Port: port, From: "no-reply@example.com", TLS: notifier.TLSNone})

	err = s.SendEmail(t.Context(), testEmail)
	if opErr := (*net.OpError)(nil); !errors.As(err, &opErr) || opErr.Op != "dial" {
		t.Errorf("SendEmail() = %v, want a dial error", err)
	}
}

func TestSMTPDeadlines(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		timeout time.Duration // the provider's
		cancel  time.Duration // cancels the caller's context after this, or 0
		want    error
	}{
		{name: "provider timeout", timeout: 200 * time.Millisecond, want: context.DeadlineExceeded},
		{name: "caller cancels", timeout: time.Minute, cancel: 200 * time.Millisecond, want: context.Canceled},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			srv := startSMTP(t, smtpServerOptions{stall: true})
			s := newSMTP(t, notifier.SMTPConfig{
				Host: "127.0.0.1", Port: srv.port(), From: "no-reply@example.com", TLS: notifier.TLSNone, Timeout: tt.timeout,
			})

			ctx := t.Context()

			if tt.cancel > 0 {
				var cancel context.CancelFunc

				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tt.cancel, cancel)
			}

			start := time.Now()
			err := s.SendEmail(ctx, testEmail)

			if !errors.Is(err, tt.want) {
				t.Errorf("SendEmail() = %v, want %v", err, tt.want)
			}

			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("SendEmail() took %s, want about 200ms", elapsed)
			}
		})
	}
}

func TestSMTPRejectsRecipient(t *testing.T) {
	t.Parallel()

	srv := startSMTP(t, smtpServerOptions{})
	s := newSMTP(t, notifier.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@example.com", TLS: notifier.TLSNone})

	for _, to := range []string{"", "not an address", "ada@example.com\r\nRCPT TO:<eve@example.com>"} {
		m := testEmail
		m.To = to

		if err := s.SendEmail(t.Context(), m); err == nil {
			t.Errorf("SendEmail(To %q) = nil, want an error", to)
		}
	}

	if len(srv.recorded()) != 0 {
		t.Errorf("server received %v, want nothing", srv.recorded())
	}
}

func TestNewSMTPRejects(t *testing.T) {
	t.Parallel()

	valid := notifier.SMTPConfig{Host: "smtp.example.com", Port: 587, From: "no-reply@example.com"}

	tests := []struct {
		name   string
		mutate func(*notifier.SMTPConfig)
	}{
		{name: "no host", mutate: func(c *notifier.SMTPConfig) { c.Host = "" }},
		{name: "port 0", mutate: func(c *notifier.SMTPConfig) { c.Port = 0 }},
		{name: "port too large", mutate: func(c *notifier.SMTPConfig) { c.Port = 65536 }},
		{name: "bad from", mutate: func(c *notifier.SMTPConfig) { c.From = "Example" }},
		{name: "unknown TLS mode", mutate: func(c *notifier.SMTPConfig) { c.TLS = "ssl" }},
		{name: "username without password", mutate: func(c *notifier.SMTPConfig) { c.Username = "mailer" }},
		{name: "password without username", mutate: func(c *notifier.SMTPConfig) { c.Password = "pw-s3cret" }},
		{name: "negative timeout", mutate: func(c *notifier.SMTPConfig) { c.Timeout = -time.Second }},
	}

	if _, err := notifier.NewSMTP(valid); err != nil {
		t.Fatalf("NewSMTP(%+v) = %v", valid, err)
	}

	for _, tt := range tests {
		cfg := valid
		tt.mutate(&cfg)

		_, err := notifier.NewSMTP(cfg)
		if err == nil {
			t.Errorf("%s: NewSMTP() = nil, want an error", tt.name)
		} else if strings.Contains(err.Error(), "pw-s3cret") {
			t.Errorf("%s: NewSMTP() = %v leaks the password", tt.name, err)
		}
	}
}
