// Package events holds the events the orders module publishes, as typed
// payloads (internal/events.Payload): the one package of the module that
// other modules may import (make verify-modules checks). Each is published
// in the transaction of the change it records, ordered per order.
package events

import "errors"

// OrderCreated records that an order was placed. Amounts are in minor units
// of Currency (cents). Channel and Destination say where its confirmation
// goes; they are personal data, so they travel sealed and are erased once
// delivered.
type OrderCreated struct {
	OrderID     string `json:"order_id"`
	UserID      string `json:"user_id"`
	TotalMinor  int64  `json:"total_minor"`
	Currency    string `json:"currency"`
	ItemCount   int    `json:"item_count"`
	Channel     string `json:"-" secret:"channel"`
	Destination string `json:"-" secret:"destination"`
}

// OrderCancelled records that an order was cancelled, for Reason.
type OrderCancelled struct {
	OrderID string `json:"order_id"`
	UserID  string `json:"user_id"`
	Reason  string `json:"reason"`
}

// EventName implements events.Payload.
func (OrderCreated) EventName() string { return "order.created" }

// EventVersion implements events.Payload.
func (OrderCreated) EventVersion() int { return 1 }

// OrderingKey orders an order's events.
func (e OrderCreated) OrderingKey() string { return e.OrderID }

// Validate checks the IDs.
func (e OrderCreated) Validate() error { return ids(e.OrderID, e.UserID) }

// EventName implements events.Payload.
func (OrderCancelled) EventName() string { return "order.cancelled" }

// EventVersion implements events.Payload.
func (OrderCancelled) EventVersion() int { return 1 }

// OrderingKey orders an order's events.
func (e OrderCancelled) OrderingKey() string { return e.OrderID }

// Validate checks the IDs.
func (e OrderCancelled) Validate() error { return ids(e.OrderID, e.UserID) }

func ids(orderID, userID string) error {
	var errs []error
	if orderID == "" {
		errs = append(errs, errors.New("order_id is required"))
	}

	if userID == "" {
		errs = append(errs, errors.New("user_id is required"))
	}

	return errors.Join(errs...)
}
