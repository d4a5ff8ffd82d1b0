package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/websocket"
)

// subscriptionBuffer is how many events may wait for one subscription; a
// subscriber that lets it fill loses the subscription, which completes.
const subscriptionBuffer = 16

// errNoFeed is the error of a subscription outside a WebSocket connection
// that authenticated.
var errNoFeed = errors.New("subscriptions need a WebSocket connection (graphql-transport-ws) authenticated with an access token")

// Subscribe streams to a subscription the events of type T addressed to
// its subscriber (the user whose access token opened the WebSocket),
// converted by convert, from every replica, until the subscription, the
// connection or the session ends. Modules use it in their Subscription
// resolvers: the events are those they route to WebSocket clients
// (registry.Host.Realtime), and no others reach this process.
func Subscribe[T events.Payload, M any](ctx context.Context, convert func(T) M) (<-chan M, error) {
	f, ok := ctx.Value(feedKey{}).(*feed)
	if !ok {
		return nil, errNoFeed
	}

	var zero T

	raw := f.subscribe(ctx, zero.EventName())
	out := make(chan M)

	go func() {
		defer close(out)

		for data := range raw {
			var e T
			if err := json.Unmarshal(data, &e); err != nil {
				f.logger.WarnContext(ctx, "graphql: undecodable event dropped", "event", zero.EventName(), "error", err)

				continue
			}

			select {
			case out <- convert(e):
			case <-ctx.Done():
				return
			}
		}
	}()

	return out, nil
}

type feedKey struct{}

// feed hands the messages of one connection's listener to the
// subscriptions of that connection, by event name.
type feed struct {
	listener *websocket.Listener
	logger   logger

	mu   sync.Mutex
	subs map[string]map[chan json.RawMessage]struct{}
}

// logger is the part of *slog.Logger the feed uses.
type logger interface {
	WarnContext(ctx context.Context, msg string, args ...any)
}

func newFeed(l *websocket.Listener, log logger) *feed {
	return &feed{listener: l, logger: log, subs: make(map[string]map[chan json.RawMessage]struct{})}
}

// run delivers the listener's messages until ctx ends or the listener
// does; then it calls stopped, ends every subscription and closes the
// listener. It returns why it stopped. stopped ends the connection first,
// so that its subscriptions end with it: a subscription that ended alone
// would send the client "complete", as if it had finished normally.
func (f *feed) run(ctx context.Context, stopped func()) error {
	defer f.listener.Close()
	defer f.endAll()
	defer stopped()

	for {
		m, err := f.listener.Next(ctx)
		if err != nil {
			return err
		}

		f.deliver(m.Event, m.Data)
	}
}

// subscribe returns the channel of the events named event, closed when ctx
// ends, when the feed stops, or when the subscriber falls behind.
func (f *feed) subscribe(ctx context.Context, event string) <-chan json.RawMessage {
	ch := make(chan json.RawMessage, subscriptionBuffer)

	f.mu.Lock()
	if f.subs == nil { // the feed has stopped
		f.mu.Unlock()
		close(ch)

		return ch
	}

	set := f.subs[event]
	if set == nil {
		set = make(map[chan json.RawMessage]struct{})
		f.subs[event] = set
	}

	set[ch] = struct{}{}
	f.mu.Unlock()

	context.AfterFunc(ctx, func() { f.end(event, ch) })

	return ch
}

func (f *feed) deliver(event string, data json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()

	for ch := range f.subs[event] {
		select {
		case ch <- data:
		default:
			// The subscriber is not reading: end its subscription rather
			// than hold the others up.
			delete(f.subs[event], ch)
			close(ch)
		}
	}
}

// end closes the subscription ch, unless it already ended.
func (f *feed) end(event string, ch chan json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()

	if _, ok := f.subs[event][ch]; ok {
		delete(f.subs[event], ch)
		close(ch)
	}
}

func (f *feed) endAll() {
	f.mu.Lock()
	defer f.mu.Unlock()

	for _, set := range f.subs {
		for ch := range set {
			close(ch)
		}
	}

	f.subs = nil
}
