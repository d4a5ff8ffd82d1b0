package ratelimit

// Keys returns how many buckets l keeps once the cache's pending
// maintenance (evictions past the bound, done in the background) has run.
func (l *Local) Keys() int {
	l.buckets.CleanUp()

	return l.buckets.EstimatedSize()
}
