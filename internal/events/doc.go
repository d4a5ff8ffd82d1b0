// Package events is the platform's durable publish/subscribe bus: modules
// publish facts (user.created) without knowing who listens, subscribers
// react (send the login code, notify a WebSocket), and no event is lost.
//
// Events are Go types owned by the modules that publish them (Payload: a
// struct with a name and a schema version; secret fields sealed). Publish
// stores one in the publisher's own database transaction (a transactional
// outbox in the events schema) together with one delivery row per
// subscriber registered for its name, cluster-wide; Subscribe hands each
// subscriber the decoded type, and a payload that does not decode is a dead
// letter rather than half-handled. The bus itself moves Raw events (JSON
// payloads), which platform adapters such as the WebSocket forwarder see.
//
// A transport hands every delivery to its subscriber at least once, and
// decides which process handles it. The default one is PostgreSQL alone:
// dispatchers in every process claim due deliveries with FOR UPDATE SKIP
// LOCKED, woken by LISTEN/NOTIFY. Another plugs in through Transport,
// given to New and chosen by Config.Transport: the NATS JetStream one
// (package natsbus, EVENTS_TRANSPORT=nats) relays deliveries to one
// durable consumer per subscriber. A transport only carries deliveries: it
// hands each to Deliveries.Handle, and the bus runs the handler and
// records the outcome, the same on every transport. Either way the outbox
// is the source of truth and each delivery is handled by one process of
// the cluster, never one per replica.
//
// A delivery that fails is retried with exponential backoff and jitter and
// becomes dead after MaxAttempts; dead letters are listed and redriven with
// `server events dead` / `server events redrive`. A handler takes effect
// once: the bus records (subscriber, event ID) in events.processed within
// the handler's transaction (Tx), together with the delivery's new state,
// so a redelivered event is skipped. Secrets an event carries (a login code)
// are sealed with AES-GCM in the outbox and erased once every delivery has
// ended; delivered rows are purged after a retention period, and so are
// subscriptions no process has registered for that long (a subscriber
// removed from the code), with their unfinished deliveries.
//
// Handlers' queries run on a pool that cancels a timed-out statement rather
// than dropping its connection (internal/database), so a handler that
// overruns its timeout fails alone and its failure is recorded.
//
// Why not Watermill: its SQL subscriber keeps one offset per consumer group
// and polls. Per-delivery state (attempts, last error, next attempt), a dead
// letter state with redrive, wake-up by NOTIFY, idempotency records in the
// handler's transaction, per-key ordering and secret erasure all need the
// per-(subscriber, event) rows this package keeps; what is left is small.
package events
