package ratelimit

// Keys returns about how many buckets l keeps.
func (l *Local) Keys() int { return l.buckets.EstimatedSize() }
