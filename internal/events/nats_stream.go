package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureRounds bounds the create-or-update race between replicas starting
// together (one creates, another updates, a third may find it mid-way).
const ensureRounds = 3

// ensure creates or updates the stream and every subscriber's durable
// consumer. Both are idempotent, so replicas starting together all
// succeed; it runs again when a fetch or a publish finds them gone.
func (t *natsTransport) ensure(ctx context.Context) (map[string]jetstream.Consumer, error) {
	t.ensureMu.Lock()
	defer t.ensureMu.Unlock()

	created, err := t.ensureStream(ctx)
	if err != nil {
		return nil, err
	}

	if created {
		// A new stream holds none of the deliveries relayed before (a NATS
		// server that lost its storage): relay every unfinished one again;
		// any that was handled after all is recognized and skipped.
		if _, err := t.republish(ctx, 0); err != nil {
			return nil, err
		}
	}

	consumers := make(map[string]jetstream.Consumer, len(t.subs))

	for _, s := range t.subs {
		c, err := t.js.CreateOrUpdateConsumer(ctx, t.names.stream, t.consumerConfig(s))
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", s.name, err)
		}

		consumers[s.name] = c
	}

	return consumers, nil
}

// ensureStream creates the stream or brings an existing one to the
// configuration, and reports whether it created it.
func (t *natsTransport) ensureStream(ctx context.Context) (bool, error) {
	cfg := t.streamConfig()

	for range ensureRounds {
		_, err := t.js.UpdateStream(ctx, cfg)
		if err == nil {
			return false, nil
		}

		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return false, fmt.Errorf("update stream %s: %w", cfg.Name, err)
		}

		_, err = t.js.CreateStream(ctx, cfg)
		if err == nil {
			return true, nil
		}

		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return false, fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
	}

	return false, fmt.Errorf("stream %s: created and deleted by others %d times in a row", cfg.Name, ensureRounds)
}

// streamConfig is one work queue for every subscriber: a message leaves it
// when its consumer acks or terminates it, or after the retention.
func (t *natsTransport) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        t.names.stream,
		Description: "modulith events: deliveries relayed from the outbox",
		Subjects:    []string{t.names.prefix + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      t.bus.cfg.Retention,
		Duplicates:  min(dedupWindow, t.bus.cfg.Retention),
	}
}

// consumerConfig is subscriber s's durable pull consumer, shared by every
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
func (t *natsTransport) consumerConfig(s *subscriber) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       s.name,
		Description:   "modulith events: deliveries to " + s.name,
		FilterSubject: t.subscriberSubject(s.name) + ".>",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.bus.cfg.HandlerTimeout + ackWaitMargin,
		MaxDeliver:    -1,
		MaxAckPending: -1,
	}
}

func (t *natsTransport) subscriberSubject(subscriber string) string {
	return t.names.prefix + "." + subscriber
}

// subject is where a delivery of event to subscriber is published.
func (t *natsTransport) subject(subscriber, event string) string {
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
