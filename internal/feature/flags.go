package feature

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/modulith/modulith/internal/database"
)

// SchemaName is the schema of the flags table; the migration runner
// applies Migrations to it with the platform's other migrations.
const SchemaName = "feature"

//go:embed migration/*.sql
var migrationFiles embed.FS

// Migrations returns the flags schema's migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migration")
	if err != nil {
		panic("feature: " + err.Error()) // the directory is embedded above
	}

	return sub
}

// notifyChannel is the channel every write notifies in its transaction,
// and every replica listens on.
const notifyChannel = "feature_flags_changed"

// Delays between attempts to listen again after the connection is lost.
const (
	relistenMin = 500 * time.Millisecond
	relistenMax = 30 * time.Second
)

// Flags evaluates the flags of every module from an in-memory snapshot of
// the flags table, through OpenFeature clients (Client). The snapshot is
// replaced whole when a change commits anywhere (LISTEN/NOTIFY), after
// the listener reconnects (notifications are lost while it is away), and
// every reload interval, as a safety net.
type Flags struct {
	pool     *pgxpool.Pool
	interval time.Duration
	logger   *slog.Logger
	api      *openfeature.EvaluationAPI

	snapshot atomic.Pointer[snapshot]
	reloadMu sync.Mutex // one reload at a time: a later one reads later state

	mu      sync.Mutex
	clients map[string]*openfeature.Client

	stale  chan struct{} // a reload is due
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// snapshot is every flag, by key, as one reload read them. Never modified.
type snapshot struct {
	flags map[string]*Flag
}

// New returns the flags of pool, reloaded every interval (and on every
// change) once started.
func New(pool *pgxpool.Pool, interval time.Duration, logger *slog.Logger) *Flags {
	return &Flags{
		pool: pool, interval: interval, logger: logger.With("component", "feature"), api: isolated.NewAPI(),
		clients: make(map[string]*openfeature.Client), stale: make(chan struct{}, 1),
	}
}

// Client returns the OpenFeature client of module: it evaluates the flags
// "<module>.*" only, for the caller of the request (authn.FromContext)
// unless the evaluation context names another. Until Start has loaded
// the flags, evaluations return the code's default with PROVIDER_NOT_READY.
func (f *Flags) Client(module string) *openfeature.Client {
	f.mu.Lock()
	defer f.mu.Unlock()

	if c, ok := f.clients[module]; ok {
		return c
	}

	// The provider has no Init: it is ready at once (the wait is for the
	// SDK to record that), and cannot fail.
	_ = f.api.SetProviderAndWait(context.Background(), &provider{flags: f, namespace: module}, openfeature.WithDomain(module))
	c := f.api.NewClient(openfeature.WithDomain(module))
	f.clients[module] = c

	return c
}

// Start loads the flags, then keeps them fresh until Close: a goroutine
// listens for changes, another reloads.
func (f *Flags) Start(ctx context.Context) error {
	if err := f.Reload(ctx); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel = cancel

	f.wg.Go(func() { f.listen(ctx) })
	f.wg.Go(func() { f.reloadLoop(ctx) })

	return nil
}

// Close stops listening and reloading, waiting for both until ctx ends,
// and shuts the OpenFeature clients down.
func (f *Flags) Close(ctx context.Context) error {
	if f.cancel != nil {
		f.cancel()
	}

	done := make(chan struct{})

	go func() {
		f.wg.Wait()
		close(done)
	}()

	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("feature: listener still running: %w", ctx.Err())
	}

	if err := f.api.Shutdown(ctx); err != nil {
		return fmt.Errorf("feature: shut down OpenFeature: %w", err)
	}

	return nil
}

// Reload replaces the snapshot with the flags the database holds now.
func (f *Flags) Reload(ctx context.Context) error {
	f.reloadMu.Lock()
	defer f.reloadMu.Unlock()

	flags, err := list(ctx, f.pool)
	if err != nil {
		return fmt.Errorf("feature: load flags: %w", err)
	}

	snap := &snapshot{flags: make(map[string]*Flag, len(flags))}
	for i := range flags {
		snap.flags[flags[i].Key] = &flags[i]
	}

	f.snapshot.Store(snap)

	return nil
}

// markStale asks the reload loop for a reload, without waiting.
func (f *Flags) markStale() {
	select {
	case f.stale <- struct{}{}:
	default: // one is pending already
	}
}

// reloadLoop reloads when asked and every interval until ctx ends. A
// failed reload is retried soon: the change it was for would otherwise
// wait for the next interval.
func (f *Flags) reloadLoop(ctx context.Context) {
	tick := time.NewTicker(f.interval)
	defer tick.Stop()

	var retry <-chan time.Time

	for {
		select {
		case <-ctx.Done():
			return
		case <-f.stale:
		case <-tick.C:
		case <-retry:
		}

		retry = nil

		if err := f.Reload(ctx); err != nil && ctx.Err() == nil {
			f.logger.WarnContext(ctx, "feature: reload failed; serving the flags loaded before, retrying", "error", err)

			retry = time.After(relistenMin)
		}
	}
}

// listen holds a connection in LISTEN, asking for a reload on every
// notification and each time it listens (changes made while nobody
// listened), listening again with growing delays when the connection is
// lost.
func (f *Flags) listen(ctx context.Context) {
	l := &database.Listener{
		Pool: f.pool, Channels: []string{notifyChannel},
		Name: "feature: change listener", Logger: f.logger,
		MinDelay: relistenMin, MaxDelay: relistenMax,
		Listening: f.markStale,
		Notified:  func(string) { f.markStale() },
	}

	l.Run(ctx)
}
