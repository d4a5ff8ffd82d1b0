package database

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// closeTimeout bounds the goodbye of a listener's connection.
const closeTimeout = 5 * time.Second

// Listener keeps a connection of its own (see listenAs) in LISTEN on
// Channels and hands every notification to Notified, listening again,
// after delays growing from MinDelay to MaxDelay, whenever it cannot or
// the connection is lost. Notifications sent while it is not listening are
// lost: Listening, called each time it listens (the first time too), is
// where its owner catches up.
type Listener struct {
	Pool *pgxpool.Pool
	// AppName is the connections' application_name (optional).
	AppName  string
	Channels []string
	// Name opens its log lines ("cache: invalidation listener").
	Name   string
	Logger *slog.Logger

	MinDelay, MaxDelay time.Duration

	Listening func()               // optional
	Notified  func(payload string) // optional: a wake-up needs no payload
}

// Start listens and returns once it does, so that nothing notified
// afterwards is missed, or returns why it cannot. A goroutine then hands
// notifications over until ctx ends; done is closed when it has closed its
// connection and returned.
func (l *Listener) Start(ctx context.Context) (<-chan struct{}, error) {
	conn, err := l.listen(ctx)
	if err != nil {
		return nil, err
	}

	done := make(chan struct{})

	go func() {
		defer close(done)

		l.serve(ctx, conn)
	}()

	return done, nil
}

// Run listens until ctx ends, never giving up: a failure to listen, the
// first time too, is logged and tried again.
func (l *Listener) Run(ctx context.Context) {
	if conn := l.relisten(ctx, 0); conn != nil {
		l.serve(ctx, conn)
	}
}

// serve receives on conn, and on the connections that replace it, until
// ctx ends.
func (l *Listener) serve(ctx context.Context, conn *pgx.Conn) {
	for conn != nil {
		err := l.receive(ctx, conn)
		if ctx.Err() != nil {
			return
		}

		l.Logger.WarnContext(ctx, l.Name+" lost; listening again", "error", err)

		if conn = l.relisten(ctx, l.MinDelay); conn != nil {
			l.Logger.InfoContext(ctx, l.Name+" listening again")
		}
	}
}

// listen opens a connection in LISTEN and calls Listening.
func (l *Listener) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := listenAs(ctx, l.Pool, l.AppName, l.Channels...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.Name, err)
	}

	if l.Listening != nil {
		l.Listening()
	}

	return conn, nil
}

// relisten tries to listen, first after delay, then after growing delays,
// until it does or ctx ends (nil).
func (l *Listener) relisten(ctx context.Context, delay time.Duration) *pgx.Conn {
	for sleep(ctx, delay) {
		conn, err := l.listen(ctx)
		if err == nil {
			return conn
		}

		if ctx.Err() != nil {
			return nil
		}

		l.Logger.WarnContext(ctx, l.Name+" cannot listen yet", "error", err)
		delay = min(max(2*delay, l.MinDelay), l.MaxDelay)
	}

	return nil
}

// receive hands every notification over until the connection fails or ctx
// ends, then closes the connection.
func (l *Listener) receive(ctx context.Context, conn *pgx.Conn) error {
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()

		_ = conn.Close(cctx) // the connection is done with either way
	}()

	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}

		if l.Notified != nil {
			l.Notified(n.Payload)
		}
	}
}

// sleep waits d and reports true, or false as soon as ctx ends.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}

	t := time.NewTimer(d)
	defer t.Stop()

	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
