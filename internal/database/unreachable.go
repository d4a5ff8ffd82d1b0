package database

import (
	"context"
	stderrors "errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unreachable reports whether err says the database cannot serve now, as
// opposed to refusing a statement: a connection that cannot be opened
// (refused, reset, DNS, TLS, pool acquire), one that broke under a query
// (EOF, reset, "conn closed"), and the server's own
// connection errors (SQLSTATE class 08), shutdown and start-up (57P01
// admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now) and too
// many connections (53300). The caller may retry later: it is Unavailable,
// not Internal. The end of the caller's own context is not: it is the
// request's timeout or cancellation.
func Unreachable(err error) bool {
	if err == nil || stderrors.Is(err, context.DeadlineExceeded) || stderrors.Is(err, context.Canceled) {
		return false
	}

	var (
		pgErr      *pgconn.PgError
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)

	switch {
	case stderrors.As(err, &pgErr):
		return serverUnavailable(pgErr.Code)
	case stderrors.As(err, &connectErr), stderrors.As(err, &netErr), stderrors.Is(err, pgconn.ErrConnClosed):
		return true
	case stderrors.Is(err, io.EOF), stderrors.Is(err, io.ErrUnexpectedEOF),
		stderrors.Is(err, syscall.ECONNRESET), stderrors.Is(err, syscall.ECONNREFUSED), stderrors.Is(err, syscall.EPIPE):
		return true
	default:
		// Nothing was sent (pgx's "conn closed", a connection lost before
		// the query went out): the statement did not run.
		return pgconn.SafeToRetry(err)
	}
}

// serverUnavailable reports the SQLSTATEs of a server that cannot serve
// connections now.
func serverUnavailable(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	default:
		return strings.HasPrefix(code, "08")
	}
}
