package events

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// Payload is a typed event: a struct that records one fact, owned by the
// module that publishes it (modules/<m>/events). Its exported fields are
// the event's JSON payload, stored in clear text; a field tagged
// `json:"-" secret:"name"` (a string) travels sealed instead, in the
// event's secrets, and is erased once every delivery has ended.
//
// A payload may also implement OrderingKey() string, so that each
// subscriber handles the events that share a key in publication order, and
// Validate() error, which Publish calls before storing it and subscribers
// call after decoding it.
type Payload interface {
	// EventName names the fact, in the past tense: "order.created".
	EventName() string
	// EventVersion is the payload's schema version, from 1. Adding a field
	// keeps the version (decoding ignores fields it does not know, and
	// leaves fields the payload lacks at their zero value); renaming,
	// removing or changing the type of one makes a new version.
	EventVersion() int
}

// Event is a typed event as a subscriber receives it.
type Event[T Payload] struct {
	ID      string
	Name    string
	Version int
	// OccurredAt is when it was published.
	OccurredAt time.Time
	// Attempt is the delivery attempt, from 1.
	Attempt int
	Payload T
}

// Subscriber registers the handler of a subscriber for events of one name:
// the bus, or what a module's host hands it.
type Subscriber interface {
	Subscribe(subscriber, event string, h Handler) error
}

// Subscribe makes subscriber handle the events of type T. A delivery whose
// payload cannot be decoded into T, or fails T's Validate, is dead at once
// with an error saying why: retrying could not decode it, and a handler
// must not act on half a payload. An event of a newer version than T's is
// retried instead, for a replica that runs newer code to take it.
func Subscribe[T Payload](bus Subscriber, subscriber string, h func(ctx context.Context, e Event[T]) error) error {
	var zero T

	if _, err := shapeOf(reflect.TypeOf(zero)); err != nil {
		return err
	}

	err := bus.Subscribe(subscriber, zero.EventName(), func(ctx context.Context, raw Raw) error {
		e, err := Decode[T](raw)
		if err != nil {
			return err
		}

		return h(ctx, e)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s to %T: %w", subscriber, zero, err)
	}

	return nil
}

// Decode turns a raw event into a typed one; platform adapters that route
// raw events by type (the WebSocket forwarder) use it too. Its errors are
// permanent (see Subscribe) except for a version newer than T's.
func Decode[T Payload](raw Raw) (Event[T], error) {
	var p T

	// Before calling p's methods: a pointer T would be nil here.
	if _, err := shapeOf(reflect.TypeOf(p)); err != nil {
		return Event[T]{}, Permanent(fmt.Errorf("decode %s v%d: %w", raw.Name, raw.Version, err))
	}

	if raw.Version > p.EventVersion() {
		return Event[T]{}, fmt.Errorf("%s v%d is newer than the v%d this process knows (%T): retry on a newer replica",
			raw.Name, raw.Version, p.EventVersion(), p)
	}

	if err := decode(raw, &p); err != nil {
		return Event[T]{}, Permanent(fmt.Errorf("decode %s v%d as %T: %w", raw.Name, raw.Version, p, err))
	}

	return Event[T]{
		ID: raw.ID, Name: raw.Name, Version: raw.Version, OccurredAt: raw.OccurredAt, Attempt: raw.Attempt, Payload: p,
	}, nil
}

func decode[T Payload](raw Raw, p *T) error {
	if raw.Version < (*p).EventVersion() {
		return fmt.Errorf("version %d is older than %d and has no upgrade", raw.Version, (*p).EventVersion())
	}

	if len(raw.Payload) > 0 {
		if err := json.Unmarshal(raw.Payload, p); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
	}

	shape, err := shapeOf(reflect.TypeOf(*p))
	if err != nil {
		return err
	}

	v := reflect.ValueOf(p).Elem()
	for _, f := range shape.secrets {
		v.Field(f.index).SetString(raw.Secret[f.key])
	}

	return validate(*p)
}

// encode returns the raw event of p, not yet stored.
func encode(p Payload) (Raw, error) {
	if p == nil {
		return Raw{}, stderrors.New("publish: no payload")
	}

	shape, err := shapeOf(reflect.TypeOf(p))
	if err != nil {
		return Raw{}, err
	}

	if err := validate(p); err != nil {
		return Raw{}, fmt.Errorf("publish %s: %w", p.EventName(), err)
	}

	payload, err := json.Marshal(p)
	if err != nil {
		return Raw{}, fmt.Errorf("publish %s: encode payload: %w", p.EventName(), err)
	}

	raw := Raw{Name: p.EventName(), Version: p.EventVersion(), Payload: payload}

	if len(shape.secrets) > 0 {
		v := reflect.ValueOf(p)
		raw.Secret = make(map[string]string, len(shape.secrets))

		for _, f := range shape.secrets {
			raw.Secret[f.key] = v.Field(f.index).String()
		}
	}

	if k, ok := p.(interface{ OrderingKey() string }); ok {
		raw.OrderingKey = k.OrderingKey()
	}

	return raw, nil
}

func validate(p Payload) error {
	v, ok := p.(interface{ Validate() error })
	if !ok {
		return nil
	}

	if err := v.Validate(); err != nil {
		return fmt.Errorf("invalid payload: %w", err)
	}

	return nil
}

// shape is what the bus needs to know of a payload type.
type shape struct {
	secrets []secretField
}

type secretField struct {
	index int
	key   string
}

var shapes sync.Map // reflect.Type → shape

// shapeOf checks that t is a struct with a name and a version, and finds
// its secret fields; the result is cached per type.
func shapeOf(t reflect.Type) (shape, error) {
	if cached, ok := shapes.Load(t); ok {
		if s, ok := cached.(shape); ok {
			return s, nil
		}
	}

	s, err := newShape(t)
	if err != nil {
		return shape{}, err
	}

	shapes.Store(t, s)

	return s, nil
}

func newShape(t reflect.Type) (shape, error) {
	if t == nil || t.Kind() != reflect.Struct {
		return shape{}, fmt.Errorf("event payload %v must be a struct type", t)
	}

	if p, ok := reflect.Zero(t).Interface().(Payload); !ok || p.EventVersion() < 1 {
		return shape{}, fmt.Errorf("event payload %v: want an EventVersion of 1 or more", t)
	}

	var s shape

	for i := range t.NumField() {
		f := t.Field(i)
		if key, ok := f.Tag.Lookup("secret"); ok {
			if err := checkSecret(f, key); err != nil {
				return shape{}, fmt.Errorf("event payload %v: %w", t, err)
			}

			s.secrets = append(s.secrets, secretField{index: i, key: key})
		}
	}

	if err := valueMethods(t); err != nil {
		return shape{}, err
	}

	return s, nil
}

// optionalMethods are the methods a payload may have, which the bus calls
// through these interfaces.
var optionalMethods = []struct {
	name  string
	iface reflect.Type
}{
	{"OrderingKey", reflect.TypeFor[interface{ OrderingKey() string }]()},
	{"Validate", reflect.TypeFor[interface{ Validate() error }]()},
}

// valueMethods checks that t's optional methods have value receivers:
// Publish and Decode hold a T, not a *T, and would skip the methods of *T.
// (Implements, not MethodByName: a method looked up by name keeps every
// exported method of every type in the binary.)
func valueMethods(t reflect.Type) error {
	for _, m := range optionalMethods {
		if reflect.PointerTo(t).Implements(m.iface) && !t.Implements(m.iface) {
			return fmt.Errorf("event payload %v: declare %s on %v, not on a pointer, or the bus never calls it", t, m.name, t)
		}
	}

	return nil
}

// checkSecret checks that a secret field can travel sealed: an exported
// string, kept out of the JSON payload, with a name.
func checkSecret(f reflect.StructField, key string) error {
	if key == "" || f.Type.Kind() != reflect.String || f.Tag.Get("json") != "-" || !f.IsExported() {
		return fmt.Errorf("secret field %s must be an exported string tagged `json:\"-\" secret:\"<name>\"`", f.Name)
	}

	return nil
}
