// Package cache is the platform's cache: typed caches (Cache) kept in
// memory on each replica (otter: bounded, with TTLs) or shared by the
// replicas in Redis/Valkey (CACHE_URL), loaded once per key however many
// callers miss at once (GetOrLoad, singleflight), and invalidated on every
// replica by a Hub.
//
// # Invalidation
//
// A Hub broadcasts the keys a change made stale to every replica of the
// deployment: over PostgreSQL LISTEN/NOTIFY on the shared database by
// default (nothing else to run), over Redis pub/sub when CACHE_URL is set.
// Each replica listens on the shared channel and on a private one of its
// own. Cache.Invalidate, called after the change committed, deletes the
// keys here, broadcasts them, and waits (at most AckWait) until every
// replica that was listening acknowledged that it forgot them: the
// replicas are counted by the transport itself, Redis's PUBLISH returning
// how many subscribers got the message, and PostgreSQL's pg_stat_activity
// listing the listener connections (they carry an application_name of
// their own) after the NOTIFY committed.
//
// A replica that does not acknowledge in time has lost its subscription or
// lags behind it; it must not go on answering from memory. So a replica
// uses its memory only while its subscription is healthy: every
// HeartbeatEvery it sends itself a heartbeat through the transport, and it
// trusts its memory only while the last heartbeat it received was sent
// less than Lease ago. The transport delivers a replica's messages in
// order (PostgreSQL delivers notifications in commit order, Redis in
// publish order), so a heartbeat received after an invalidation was sent
// proves the invalidation was received first; and a replica whose
// subscription (re)connects clears its memory, since it may have missed
// messages. AckWait is longer than Lease: when Invalidate returns, every
// replica has either forgotten the keys or stopped trusting its memory.
//
// What remains: the lease is measured on each replica's own monotonic
// clock, so a replica paused (GC, a stopped VM) for longer than AckWait -
// Lease could answer one request from memory before it notices its lease
// ran out; a broadcast that fails (the database or Redis unreachable from
// the replica that made the change) makes Invalidate return an error, and
// the other replicas forget the keys when their entries expire (the
// cache's TTL).
//
// A load that started before an invalidation of its key is not stored
// (every cache counts its invalidations), so a value read just before a
// change commits cannot outlive the change in the cache.
package cache
