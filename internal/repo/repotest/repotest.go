// Package repotest helps the gomock tests of module services: it stands in
// for a repository's transactions (WithTx) and its Publish, and records
// what the service did in them, so that a test checks which events were
// published and whether the transaction committed.
//
//	f.repo.EXPECT().WithTx(gomock.Any(), gomock.Any()).DoAndReturn(f.txs.Run)
//	f.tx.EXPECT().Publish(gomock.Any(), gomock.Any()).DoAndReturn(f.txs.Publish(nil))
package repotest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modulith/modulith/internal/events"
)

// Txs records the transactions of a service test. R is the module's
// repository interface; Tx is the mock the transactions' functions get.
type Txs[R any] struct {
	t  testing.TB
	tx R

	inTx bool
	// Errs holds what each transaction's function returned: nil committed.
	Errs []error
	// Published holds the events published in transactions, in order,
	// committed or not.
	Published []events.Payload
}

// New returns a recorder whose transactions run their function on tx.
func New[R any](t testing.TB, tx R) *Txs[R] {
	return &Txs[R]{t: t, tx: tx}
}

// Run stands in for the repository's WithTx: it runs fn on the
// transaction's repository and records its result.
func (r *Txs[R]) Run(_ context.Context, fn func(R) error) error {
	r.inTx = true
	err := fn(r.tx)
	r.inTx = false
	r.Errs = append(r.Errs, err)

	return err
}

// Publish stands in for the transaction's Publish: it records the event,
// fails the test if it is published outside a transaction's function, and
// answers err.
func (r *Txs[R]) Publish(err error) func(ctx context.Context, p events.Payload) error {
	return func(_ context.Context, p events.Payload) error {
		if !r.inTx {
			r.t.Errorf("Publish(%s) outside the transaction's function, want it inside", p.EventName())
		}

		r.Published = append(r.Published, p)

		return err
	}
}

// WantPublished fails t unless the events published are exactly want.
func (r *Txs[R]) WantPublished(t testing.TB, want ...events.Payload) {
	t.Helper()

	if diff := cmp.Diff(want, r.Published, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

// WantCommitted fails t unless exactly one transaction ran and committed
// (want true) or rolled back (want false).
func (r *Txs[R]) WantCommitted(t testing.TB, want bool) {
	t.Helper()

	if len(r.Errs) != 1 {
		t.Fatalf("transactions = %d, want 1", len(r.Errs))

		return
	}

	if got := r.Errs[0] == nil; got != want {
		t.Errorf("transaction committed = %t (fn returned %v), want %t", got, r.Errs[0], want)
	}
}
