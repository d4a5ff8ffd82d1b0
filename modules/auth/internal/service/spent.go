package service

import (
	"time"

	"github.com/maypok86/otter/v2"
)

// maxSpentKeys bounds the rate keys a replica remembers as spent: some
// 100 bytes each, so a flood of addresses costs at most about 10 MB, and
// a key forgotten early only costs its next request a database write.
const maxSpentKeys = 100_000

// spentKeys remembers, in this replica, the rate keys whose window's limit
// is passed, until the window ends. A window's counter only grows, so a
// key over its limit stays over: its next requests are refused here,
// without the write that counting them in PostgreSQL costs, with the same
// outcome. Every replica still counts in the shared counter until it sees
// the limit passed, so the limit holds across replicas as before.
type spentKeys struct {
	windows *otter.Cache[string, time.Time] // key → end of the spent window
}

func newSpentKeys() *spentKeys {
	return &spentKeys{windows: otter.Must(&otter.Options[string, time.Time]{
		MaximumSize: maxSpentKeys,
		// Past its window's end an entry is no use: let the cache drop it
		// then (on the wall clock; spent compares with the service's).
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, time.Time]) time.Duration {
			return max(time.Until(e.Value), time.Second)
		}),
	})}
}

// spent reports whether key's window is spent at now, and until when.
func (k *spentKeys) spent(key string, now time.Time) (time.Time, bool) {
	end, ok := k.windows.GetIfPresent(key)
	if !ok || !now.Before(end) {
		return time.Time{}, false
	}

	return end, true
}

// spend remembers key as spent until end.
func (k *spentKeys) spend(key string, end time.Time) { k.windows.Set(key, end) }
