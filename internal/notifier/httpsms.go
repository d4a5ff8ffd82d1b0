package notifier

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// maxDrainBytes bounds how much of a gateway's answer is read (and thrown
// away) so that the connection can be reused.
const maxDrainBytes = 64 << 10

// HTTPSMSConfig configures an HTTP SMS gateway.
type HTTPSMSConfig struct {
	URL     string        // absolute http(s) URL the messages are POSTed to
	Token   string        // sent as "Authorization: Bearer <Token>"
	From    string        // sender number or name; omitted from the request when empty
	Timeout time.Duration // bounds one request; 0 means DefaultTimeout
}

// HTTPSMS sends text messages by POSTing
//
//	{"to": "+14155550100", "from": "<sender>", "body": "..."}
//
// to a gateway; any 2xx answer means sent. It does not retry (the bus
// does) and logs nothing, so neither bodies nor codes reach a log.
type HTTPSMS struct {
	url     string
	token   string
	from    string
	timeout time.Duration
	client  *http.Client
}

// StatusError is a gateway's answer other than 2xx. Its text carries only
// the status, never the request or the answer's body, which may repeat it.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("SMS gateway answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// NewHTTPSMS returns an HTTP SMS provider for cfg.
func NewHTTPSMS(cfg HTTPSMSConfig) (*HTTPSMS, error) {
	u, err := url.Parse(cfg.URL)

	switch {
	case err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https":
		// The parse error is dropped: it quotes the URL.
		return nil, errors.New("sms http: URL must be an absolute http or https URL")
	case cfg.Token == "":
		return nil, errors.New("sms http: no token")
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("sms http: negative timeout %s", cfg.Timeout)
	}

	client := &http.Client{
		// A redirect is answered as a status error: following it would
		// resend the message, and perhaps the token, somewhere unconfigured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	return &HTTPSMS{url: cfg.URL, token: cfg.Token, from: cfg.From, timeout: cmp.Or(cfg.Timeout, DefaultTimeout), client: client}, nil
}

type smsRequest struct {
	To   string `json:"to"`
	From string `json:"from,omitempty"`
	Body string `json:"body"`
}

// SendSMS POSTs m to the gateway within the provider's timeout and ctx. An
// answer other than 2xx is a *StatusError.
func (h *HTTPSMS) SendSMS(ctx context.Context, m SMS) error {
	payload, err := json.Marshal(smsRequest{To: m.To, From: h.from, Body: m.Body})
	if err != nil {
		return fmt.Errorf("sms http: encode: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("sms http: %w", err)
	}

	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.token)

	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms http: %w", err)
	}

	defer resp.Body.Close()

	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainBytes))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sms http: %w", &StatusError{StatusCode: resp.StatusCode})
	}

	return nil
}
