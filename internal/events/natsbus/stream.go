package natsbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/events"
)

// streamPrefix begins the name of a cluster's stream (clusterNames).
const streamPrefix = "MODULITH_DELIVERIES"

// Stream is the name of the JetStream stream that the transport of the
// cluster on db relays deliveries through (its subjects are
// modulith.<cluster ID>.deliver.<subscriber>.<event>). Operators and tests
// use it to inspect or remove the stream.
func Stream(ctx context.Context, db events.Querier) (string, error) {
	id, err := events.ClusterID(ctx, db)
	if err != nil {
		return "", err
	}

	return clusterNames(id).stream, nil
}

// clusterNames are the stream and subject prefix of cluster id.
func clusterNames(id string) names {
	return names{stream: streamPrefix + "_" + strings.ToUpper(id), prefix: "modulith." + id + ".deliver"}
}

// ensureRounds bounds the create-or-update race between replicas starting
// together (one creates, another updates, a third may find it mid-way).
const ensureRounds = 3

// ensure creates or updates the stream and every subscriber's durable
// consumer. Both are idempotent, so replicas starting together all
// succeed; it runs again when a fetch or a publish finds them gone.
func (t *carrier) ensure(ctx context.Context) (map[string]jetstream.Consumer, error) {
	t.ensureMu.Lock()
	defer t.ensureMu.Unlock()

	if err := t.ensureStream(ctx); err != nil {
		return nil, err
	}

	consumers := make(map[string]jetstream.Consumer, len(t.subs))

	for _, sub := range t.subs {
		c, err := t.js.CreateOrUpdateConsumer(ctx, t.names.stream, t.consumerConfig(sub))
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", sub, err)
		}

		consumers[sub] = c
	}

	return consumers, nil
}

// ensureStream brings the stream to the configuration, creating it when
// it is not there.
func (t *carrier) ensureStream(ctx context.Context) error {
	cfg := t.streamConfig()

	for range ensureRounds {
		_, err := t.js.UpdateStream(ctx, cfg)
		if err == nil {
			return nil
		}

		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("update stream %s: %w", cfg.Name, err)
		}

		created, err := t.createStream(ctx, cfg)
		if err != nil || created {
			return err
		}
		// Another replica created it meanwhile: bring it to cfg.
	}

	return fmt.Errorf("stream %s: created and deleted by others %d times in a row", cfg.Name, ensureRounds)
}

// createStream creates the stream unless another replica did since the
// caller found it missing, and reports whether it created it.
//
// A new stream holds none of the deliveries relayed before (a NATS server
// that lost its storage, a deleted stream), so it hands every unfinished
// one back to the relay; any that was handled after all is recognized and
// skipped. It does so holding the relay lock exclusively from before the
// creation until the commit: every delivery marked published by then went
// to the stream that is gone, and none relayed to the new one is handed
// back, which would publish it twice (under a new message ID, so
// JetStream's de-duplication would keep both). For the same reason it
// looks for the stream before creating it, under the lock: JetStream
// answers the creation of a stream that exists with the same
// configuration as a success.
func (t *carrier) createStream(ctx context.Context, cfg jetstream.StreamConfig) (bool, error) {
	tx, err := t.d.Pool().Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}

	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if err := lockRelays(ctx, tx, exclusive); err != nil {
		return false, err
	}

	_, err = t.js.Stream(ctx, cfg.Name)
	if err == nil {
		return false, nil
	}

	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, fmt.Errorf("look up stream %s: %w", cfg.Name, err)
	}

	if _, err := t.js.CreateStream(ctx, cfg); err != nil {
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return false, nil // created by something that takes no lock
		}

		return false, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}

	if _, err := republish(ctx, tx, 0); err != nil {
		return false, err
	}

	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}

	return true, nil
}

// streamConfig is one work queue for every subscriber: a message leaves it
// when its consumer acks or terminates it, or after the retention.
func (t *carrier) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        t.names.stream,
		Description: "modulith events: deliveries relayed from the outbox",
		Subjects:    []string{t.names.prefix + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      t.cfg.Retention,
		Duplicates:  min(dedupWindow, t.cfg.Retention),
	}
}

// consumerConfig is subscriber sub's durable pull consumer, shared by every
// replica that runs s, so that each message goes to one of them.
//
// MaxDeliver is unlimited: PostgreSQL counts the attempts and decides when
// a delivery is dead, and the consumer then terminates the message.
// JetStream also counts deliveries that are no attempt (a wait for an older
// event with the same ordering key, a redelivery after a crash or during a
// database outage); a finite MaxDeliver would strand such a message in the
// stream while its delivery row stays pending. Retries are paced by the
// retry policy through NakWithDelay, so no BackOff list is set (nats-server
// 2.9 also refuses one without a finite MaxDeliver); AckWait only
// redelivers the messages of a process that died. MaxAckPending is
// unlimited too: a message waiting for its retry counts as pending, so a
// limit would let failing deliveries hold up the subscriber's others.
func (t *carrier) consumerConfig(sub string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       sub,
		Description:   "modulith events: deliveries to " + sub,
		FilterSubject: t.subscriberSubject(sub) + ".>",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.cfg.HandlerTimeout + ackWaitMargin,
		MaxDeliver:    -1,
		MaxAckPending: -1,
	}
}

func (t *carrier) subscriberSubject(subscriber string) string {
	return t.names.prefix + "." + subscriber
}

// subject is where a delivery of event to subscriber is published.
func (t *carrier) subject(subscriber, event string) string {
	return t.subscriberSubject(subscriber) + "." + subjectTokens(event)
}

// subjectTokens turns an event name into subject tokens: dots separate
// tokens; what a token cannot hold (blanks, wildcards, emptiness) becomes
// "_". Messages carry the real name: subjects are for people and filters.
func subjectTokens(name string) string {
	tokens := strings.Split(name, ".")
	for i, tok := range tokens {
		tok = strings.Map(func(r rune) rune {
			if r <= ' ' || r == '*' || r == '>' || r == 0x7f {
				return '_'
			}

			return r
		}, tok)
		if tok == "" {
			tok = "_"
		}

		tokens[i] = tok
	}

	return strings.Join(tokens, ".")
}

// msgID is a delivery's Nats-Msg-Id: the same while the relay retries one
// publication (JetStream drops the copies within its duplicate window), new
// when the delivery is published again after a redrive or a republish, both
// of which reset attempts or move updated_at.
func msgID(subscriber, eventID string, attempts int, updatedAt time.Time) string {
	return subscriber + ":" + eventID + ":" + strconv.Itoa(attempts) + ":" + strconv.FormatInt(updatedAt.UnixMicro(), 10)
}
