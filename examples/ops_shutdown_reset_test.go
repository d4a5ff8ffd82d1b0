package examples

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"
)

// resetRounds is how many servers TestShutdownKeepsKeepAliveRequests stops
// under load.
const resetRounds = 6

// TestShutdownKeepsKeepAliveRequests stops servers with SHUTDOWN_DELAY=0s
// (the dev default) while clients send POSTs (which a client never
// retries by itself) over keep-alive connections: no request sent on an
// established connection may break. Without the drain, Shutdown closes
// idle keep-alive connections under clients that are sending on them, who
// see the connection reset. A client refused once the listener has closed
// knows nothing was sent: that is not a broken request.
func TestShutdownKeepsKeepAliveRequests(t *testing.T) {
	t.Parallel()

	dsn := freshDSN(t)

	var (
		requests int
		broken   []error
	)

	for range resetRounds {
		n, errs := hammerThroughShutdown(t, dsn)
		broken = append(broken, errs...)

		requests += n
	}

	t.Logf("%d requests on established connections across %d shutdowns", requests, resetRounds)

	for _, err := range broken {
		t.Errorf("request on an established connection broken by the shutdown: %v", err)
	}
}

// hammerThroughShutdown runs a server, POSTs to it from keep-alive
// clients, stops it, and returns how many requests went out on
// established connections and the errors of those that broke.
func hammerThroughShutdown(t *testing.T, dsn string) (int, []error) {
	t.Helper()

	s := runServer(t, harnessEnv(dsn))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		requests int
		broken   []error
	)

	for range 2 * loadWorkers {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}

		wg.Go(func() {
			defer client.CloseIdleConnections()

			for ctx.Err() == nil {
				connected, err := postOnce(ctx, client, s.HTTP+"/livez")
				if !connected {
					return // refused: the listener has closed
				}

				mu.Lock()
				requests++

				if err != nil && ctx.Err() == nil {
					broken = append(broken, err)
				}
				mu.Unlock()

				if err != nil {
					return
				}
			}
		})
	}

	time.Sleep(300 * time.Millisecond)

	if err := s.Stop(); err != nil {
		t.Errorf("server stopped with %v", err)
	}

	cancel()
	wg.Wait()

	return requests, broken
}

// postOnce POSTs to url (any answer will do: /livez answers 405) and
// reports whether it had an established connection, new or reused, and
// how the request failed.
func postOnce(ctx context.Context, client *http.Client, url string) (bool, error) {
	var connected bool

	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected = true },
	})

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, http.NoBody)
	if err != nil {
		return false, err
	}

	resp, err := client.Do(req)
	if err != nil {
		return connected, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()

	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return connected, fmt.Errorf("POST %s: read body: %w", url, err)
	}

	return connected, nil
}
