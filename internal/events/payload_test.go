package events_test

import (
	"errors"
	"time"
)

// orderPlaced is the typed payload of these tests: a field of each kind
// the bus must carry, a secret, an ordering key and a validation.
type orderPlaced struct {
	OrderID  string    `json:"order_id"`
	Total    int64     `json:"total"`
	Lines    int       `json:"lines"`
	PlacedAt time.Time `json:"placed_at"`
	Tags     []string  `json:"tags"`
	Code     string    `json:"-" secret:"code"`
}

// orderPlacedVersion is orderPlaced's version: 2, so that tests can
// publish an older and a newer one.
const orderPlacedVersion = 2

var errNoOrder = errors.New("order_id is required")

func (orderPlaced) EventName() string { return "order.placed" }

func (orderPlaced) EventVersion() int { return orderPlacedVersion }

func (p orderPlaced) OrderingKey() string { return p.OrderID }

func (p orderPlaced) Validate() error {
	if p.OrderID == "" {
		return errNoOrder
	}

	return nil
}

// noteAdded is a payload with neither an ordering key nor a validation.
type noteAdded struct {
	Text string `json:"text"`
}

func (noteAdded) EventName() string { return "note.added" }

func (noteAdded) EventVersion() int { return 1 }

// Payload types the bus must refuse, each under a name of its own.
type (
	secretNotString struct {
		Code int `json:"-" secret:"code"`
	}
	secretInJSON struct {
		Code string `json:"code" secret:"code"`
	}
	secretUntagged struct {
		Code string `secret:"code"`
	}
	secretUnnamed struct {
		Code string `json:"-" secret:""`
	}
	versionZero struct {
		Text string `json:"text"`
	}
	versionNegative struct {
		Text string `json:"text"`
	}
	validateOnPointer struct {
		Text string `json:"text"`
	}
	orderingKeyOnPointer struct {
		Text string `json:"text"`
	}
)

func (secretNotString) EventName() string      { return "bad.secret_not_string" }
func (secretNotString) EventVersion() int      { return 1 }
func (secretInJSON) EventName() string         { return "bad.secret_in_json" }
func (secretInJSON) EventVersion() int         { return 1 }
func (secretUntagged) EventName() string       { return "bad.secret_untagged" }
func (secretUntagged) EventVersion() int       { return 1 }
func (secretUnnamed) EventName() string        { return "bad.secret_unnamed" }
func (secretUnnamed) EventVersion() int        { return 1 }
func (versionZero) EventName() string          { return "bad.version_zero" }
func (versionZero) EventVersion() int          { return 0 }
func (versionNegative) EventName() string      { return "bad.version_negative" }
func (versionNegative) EventVersion() int      { return -1 }
func (validateOnPointer) EventName() string    { return "bad.validate_on_pointer" }
func (validateOnPointer) EventVersion() int    { return 1 }
func (*validateOnPointer) Validate() error     { return errNoOrder }
func (orderingKeyOnPointer) EventName() string { return "bad.ordering_key_on_pointer" }
func (orderingKeyOnPointer) EventVersion() int { return 1 }

func (p *orderingKeyOnPointer) OrderingKey() string { return p.Text }
