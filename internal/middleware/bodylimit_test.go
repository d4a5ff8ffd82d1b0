package middleware_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/modulith/modulith/internal/middleware"
)

const tooLargeBody = `{"code":"PAYLOAD_TOO_LARGE","message":"request body too large","details":{"max_bytes":"10"}}` + "\n"

// countingReader serves data and counts the bytes read from it.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n

	return n, err
}

// endless yields 'x' forever, like a client that never stops sending.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}

	return len(p), nil
}

func TestBodyLimit(t *testing.T) {
	tests := []struct {
		name          string
		body          io.Reader
		contentLength int64
		wantStatus    int
		wantResponse  string
		wantBody      string // what the handler reads
		maxRead       int    // most bytes the middleware may consume
	}{
		{
			name: "declared length within limit", body: strings.NewReader("0123456789"), contentLength: 10,
			wantStatus: http.StatusOK, wantBody: "0123456789", maxRead: 11,
		},
		{
			name: "declared length over limit", body: strings.NewReader("0123456789A"), contentLength: 11,
			wantStatus: http.StatusRequestEntityTooLarge, wantResponse: tooLargeBody, maxRead: 0,
		},
		{
			name: "chunked within limit", body: strings.NewReader("0123456789"), contentLength: -1,
			wantStatus: http.StatusOK, wantBody: "0123456789", maxRead: 11,
		},
		{
			name: "chunked over limit", body: strings.NewReader("0123456789A"), contentLength: -1,
			wantStatus: http.StatusRequestEntityTooLarge, wantResponse: tooLargeBody, maxRead: 11,
		},
		{
			name: "endless chunked body", body: endless{}, contentLength: -1,
			wantStatus: http.StatusRequestEntityTooLarge, wantResponse: tooLargeBody, maxRead: 11,
		},
		{
			name: "declared length understates the body", body: endless{}, contentLength: 5,
			wantStatus: http.StatusRequestEntityTooLarge, wantResponse: tooLargeBody, maxRead: 11,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string

			h := middleware.BodyLimit(10)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("handler reading body: %v", err)
				}

				got = string(b)
			}))
			body := &countingReader{r: tt.body}
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", body)
			r.ContentLength = tt.contentLength
			rec := httptest.NewRecorder()

			h.ServeHTTP(rec, r)

			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantResponse {
				t.Errorf("response = %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantResponse)
			}

			if got != tt.wantBody {
				t.Errorf("handler read %q, want %q", got, tt.wantBody)
			}

			if body.read > tt.maxRead {
				t.Errorf("middleware read %d bytes, want at most %d", body.read, tt.maxRead)
			}
		})
	}
}

func TestBodyLimitWithoutBody(t *testing.T) {
	var body io.ReadCloser

	h := middleware.BodyLimit(10)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body = r.Body
	}))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if body != http.NoBody {
		t.Errorf("handler got body %T, want http.NoBody untouched", body)
	}
}

func TestBodyLimitDisabled(t *testing.T) {
	for _, limit := range []int64{0, -1} {
		var n int

		h := middleware.BodyLimit(limit)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			n = len(b)
		}))

		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", bytes.NewReader(make([]byte, 1<<20))))

		if n != 1<<20 {
			t.Errorf("BodyLimit(%d): handler read %d bytes, want %d", limit, n, 1<<20)
		}
	}
}

func TestBodyLimitReadError(t *testing.T) {
	h := middleware.BodyLimit(10)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("handler called despite a broken body")
	}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", io.MultiReader(strings.NewReader("01"), iotest.ErrReader(errors.New("connection reset"))))
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, r)

	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d, want %d", rec.Code, http.StatusBadRequest)
	}
}

// TestBodyLimitOverTheWire sends a chunked body through a real server, where
// the length is unknown until the body ends.
func TestBodyLimitOverTheWire(t *testing.T) {
	chunked := make(chan bool, 1)
	limited := middleware.BodyLimit(10)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunked <- r.ContentLength == -1 && slices.Contains(r.TransferEncoding, "chunked")

		limited.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		body       string
		wantStatus int
		wantBody   string
	}{
		{body: "0123456789", wantStatus: http.StatusOK, wantBody: "0123456789"},
		{body: "0123456789A", wantStatus: http.StatusRequestEntityTooLarge, wantBody: tooLargeBody},
	}
	for _, tt := range tests {
		// io.MultiReader hides the length, so the client sends it chunked.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, io.MultiReader(strings.NewReader(tt.body)))
		if err != nil {
			t.Fatal(err)
		}

		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}

		got, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()

		if err != nil {
			t.Fatal(err)
		}

		if !<-chunked {
			t.Errorf("POST %q was not sent chunked", tt.body)
		}

		if resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody {
			t.Errorf("POST %q (chunked) = %d %q, want %d %q", tt.body, resp.StatusCode, got, tt.wantStatus, tt.wantBody)
		}
	}
}
