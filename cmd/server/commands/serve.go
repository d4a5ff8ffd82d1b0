package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	gqlgen "github.com/99designs/gqlgen/graphql"

	"github.com/modulith/modulith/cmd/server/health"
	"github.com/modulith/modulith/cmd/server/setup"

	"github.com/modulith/modulith/internal/graphql"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/websocket"
)

// serve runs the HTTP and gRPC servers until ctx ends (SIGTERM), then
// shuts down gracefully and returns nil. It reads top to bottom in
// dependency order: configuration and pool (boot), telemetry, migrations,
// the bus and the modules with the gRPC server and channel that serve
// them, the WebSocket hub (start), the readiness checks, the HTTP handler,
// the listeners. What it built is closed in reverse order when it returns.
func serve(ctx context.Context, e env) (err error) {
	p, err := boot(ctx, e) // configuration, logger, pool
	if err != nil {
		return err
	}
	defer p.close()

	var built stack
	defer func() { err = errors.Join(err, built.close(p)) }()

	built.push(stopped(p.logger))

	// telemetry, migrations, bus, modules, gRPC server and channel,
	// WebSocket hub; the bus delivering
	tel, h, rt, err := p.start(ctx, &built)
	if err != nil {
		return err
	}

	checker := p.readiness()

	handler, err := setup.HTTPHandler(ctx, setup.HTTPDeps{
		Config: p.cfg, Modules: h.reg, Tokens: h.tokens, Conn: h.grpc.Conn, Health: checker,
		Logger: p.logger, Meter: tel.Metrics.Meter(), Tracer: tel.Tracer,
		Propagator: tel.Propagator, WebSocket: rt.hub, WebSocketQueryToken: rt.cfg.QueryToken,
		WebSocketPing: rt.cfg.PingInterval, GraphQL: e.graphQL(h.reg), Policy: h.policy,
	})
	if err != nil {
		return err
	}

	lns, err := listen(ctx, p)
	if err != nil {
		return err
	}

	s := &server{p: p, grpc: h.grpc, checker: checker, ws: rt.hub, admin: p.adminServer(setup.AdminDeps{
		Health: checker, Metrics: tel.Metrics.Handler(), WebSocket: rt.hub, Pprof: p.cfg.PprofEnabled,
	})}
	s.http = &http.Server{
		Handler:           s.closeWhenDraining(handler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}

	return s.run(ctx, lns)
}

// graphQL returns the program's GraphQL schema, its resolvers calling the
// modules through reg's connections; nil when the program serves none.
func (e env) graphQL(reg *registry.Registry) gqlgen.ExecutableSchema {
	if e.prog.GraphQL == nil {
		return nil
	}

	return e.prog.GraphQL(graphql.NewDeps(reg.Client))
}

// healthInterval is how often gRPC health asks readiness.
const healthInterval = 2 * time.Second

// server is a serve command's servers.
type server struct {
	p       *process
	grpc    *grpcserver.GRPC
	checker *health.Checker
	ws      *websocket.Hub
	http    *http.Server
	admin   *http.Server
	// draining is set when the API listener closes: from then on every
	// response closes its connection.
	draining atomic.Bool
}

// drainGrace is how long the API goes on serving the connections it has
// after its listener closed, each response closing its connection
// ("Connection: close"), before http.Server.Shutdown closes those left
// idle. Shutdown closes an idle keep-alive connection at once, and a client
// that has just sent a request on it sees it reset or closed without an
// answer (a POST is never retried); a connection that answered during the
// grace was closed by the server after its response, and one idle through
// the whole grace is no more at risk than at any idle timeout. Clients that
// reconnect are refused, and know nothing was sent. A second, not less: on
// a busy 2-core machine clients and server were seen to stall for over
// half a second, and a client that sends after the grace is reset.
const drainGrace = time.Second

// closeWhenDraining makes every response of next close its connection once
// the API drains.
func (s *server) closeWhenDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}

		next.ServeHTTP(w, r)
	})
}

// listeners are a serve command's listeners.
type listeners struct {
	http, grpc, admin net.Listener
}

func listen(ctx context.Context, p *process) (*listeners, error) {
	var lc net.ListenConfig

	httpLn, err := lc.Listen(ctx, "tcp", p.cfg.HTTPAddr())
	if err != nil {
		return nil, fmt.Errorf("HTTP_PORT: %w", err)
	}

	grpcLn, err := lc.Listen(ctx, "tcp", p.cfg.GRPCAddr())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("GRPC_PORT: %w", err), httpLn.Close())
	}

	adminLn, err := p.listenAdmin(ctx)
	if err != nil {
		return nil, errors.Join(err, httpLn.Close(), grpcLn.Close())
	}

	return &listeners{http: httpLn, grpc: grpcLn, admin: adminLn}, nil
}

// run serves until ctx ends or a server fails, then shuts down.
func (s *server) run(ctx context.Context, lns *listeners) error {
	g, gctx := errgroup.WithContext(ctx)

	g.Go(func() error {
		// Serve ends when shutdown closes the listener to drain.
		if err := serveHTTP("HTTP server", s.http, lns.http); err != nil && !s.draining.Load() {
			return err
		}

		return nil
	})
	g.Go(func() error { return serveHTTP("admin server", s.admin, lns.admin) })
	// gRPC health follows readiness, per service, from the start.
	s.grpc.SetServing(s.checker.Ready(ctx))
	g.Go(func() error {
		s.grpc.FollowReadiness(gctx, s.checker.Ready, healthInterval)

		return nil
	})
	g.Go(func() error {
		// ErrServerStopped: shutdown began before Serve did (it closes grpcLn).
		if err := s.grpc.Server.Serve(lns.grpc); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("gRPC server: %w", err)
		}

		return nil
	})

	s.p.logger.InfoContext(ctx, "server ready", "http", lns.http.Addr().String(), "grpc", lns.grpc.Addr().String(),
		"admin", lns.admin.Addr().String(), "env", s.p.cfg.Env)

	<-gctx.Done()

	shutdownErr := s.shutdown(context.WithoutCancel(ctx), lns.http)

	return errors.Join(g.Wait(), shutdownErr)
}

// shutdown turns readiness off at once, keeps serving for SHUTDOWN_DELAY so
// load balancers notice, closes the API listener and drains its keep-alive
// connections (drainGrace), then closes the WebSockets and the other
// listeners and lets in-flight requests finish within SHUTDOWN_TIMEOUT.
func (s *server) shutdown(ctx context.Context, httpLn net.Listener) error {
	cfg := s.p.cfg

	s.checker.ShutDown()
	s.grpc.Health.Shutdown()
	s.p.logger.InfoContext(ctx, "shutting down: readiness reports 503", "delay", cfg.ShutdownDelay.String())

	time.Sleep(cfg.ShutdownDelay)

	// Serve returns at once; the connections it has go on being served.
	s.draining.Store(true)

	if err := httpLn.Close(); err != nil {
		s.p.logger.WarnContext(ctx, "shutting down: close the HTTP listener", "error", err)
	}

	time.Sleep(drainGrace)

	ctx, cancel := context.WithTimeout(ctx, cfg.ShutdownTimeout)
	defer cancel()

	// Sockets are hijacked connections, which http.Server.Shutdown neither
	// closes nor waits for: the hub tells them to go away (1001), so that
	// clients reconnect to a replica that stays, while requests drain.
	wsClosed := make(chan error, 1)

	go func() { wsClosed <- s.ws.Close(ctx) }()

	stopped := make(chan struct{})

	go func() {
		s.grpc.Server.GracefulStop()
		close(stopped)
	}()

	err := s.http.Shutdown(ctx)

	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Server.Stop()
		<-stopped
	}

	if err != nil {
		err = fmt.Errorf("HTTP shutdown: %w", err)
	}

	// The operational endpoints serve until the API has drained.
	if adminErr := s.admin.Shutdown(ctx); adminErr != nil {
		err = errors.Join(err, fmt.Errorf("admin shutdown: %w", adminErr))
	}

	return errors.Join(<-wsClosed, err)
}
