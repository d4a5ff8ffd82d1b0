package repotest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/modulith/modulith/internal/repo/repotest"
)

// repository stands for a module's repository interface.
type repository interface{ name() string }

type txRepo struct{}

func (txRepo) name() string { return "tx" }

type created struct{ ID string }

func (created) EventName() string { return "thing.created" }
func (created) EventVersion() int { return 1 }

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB

	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
	r.fatal = true
}

var errRollback = errors.New("roll back")

func TestRunRecordsEachTransaction(t *testing.T) {
	txs := repotest.New[repository](t, txRepo{})
	publish := txs.Publish(nil)

	var got []string

	for _, want := range []error{nil, errRollback} {
		err := txs.Run(t.Context(), func(r repository) error {
			got = append(got, r.name())

			return errors.Join(publish(t.Context(), created{ID: "a"}), want)
		})
		if !errors.Is(err, want) {
			t.Errorf("Run() = %v, want %v", err, want)
		}
	}

	if len(got) != 2 || got[0] != "tx" || len(txs.Errs) != 2 || txs.Errs[0] != nil || !errors.Is(txs.Errs[1], errRollback) {
		t.Errorf("functions ran on %q, Errs = %v; want both on the tx repository, nil then %v", got, txs.Errs, errRollback)
	}

	txs.WantPublished(t, created{ID: "a"}, created{ID: "a"})
}

func TestPublishOutsideATransactionFails(t *testing.T) {
	rec := &recorder{TB: t}
	txs := repotest.New[repository](rec, txRepo{})

	errPublish := errors.New("outbox full")
	if err := txs.Publish(errPublish)(context.Background(), created{ID: "b"}); !errors.Is(err, errPublish) {
		t.Errorf("Publish() = %v, want the given %v", err, errPublish)
	}

	if len(rec.errors) != 1 {
		t.Errorf("Publish outside a transaction reported %q, want one failure", rec.errors)
	}
}

func TestWantChecks(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error
		committed bool
		published []any
		wantFail  bool
	}{
		{name: "committed", errs: []error{nil}, committed: true},
		{name: "rolled back", errs: []error{errRollback}, committed: false},
		{name: "committed, want rolled back", errs: []error{nil}, committed: false, wantFail: true},
		{name: "no transaction", committed: true, wantFail: true},
		{name: "two transactions", errs: []error{nil, nil}, committed: true, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			txs := repotest.New[repository](rec, txRepo{})
			txs.Errs = tt.errs

			txs.WantCommitted(rec, tt.committed)

			if failed := len(rec.errors) > 0; failed != tt.wantFail {
				t.Errorf("WantCommitted(%t) with Errs %v failed = %t (%q), want %t", tt.committed, tt.errs, failed, rec.errors, tt.wantFail)
			}
		})
	}

	rec := &recorder{TB: t}
	txs := repotest.New[repository](rec, txRepo{})
	txs.WantPublished(rec, created{ID: "c"})

	if len(rec.errors) != 1 {
		t.Errorf("WantPublished(an event) with none published reported %q, want one failure", rec.errors)
	}
}
