// Package events names the events the orders module publishes and their
// payload keys: the one package of the module that other modules may
// import (make verify-modules checks).
package events

// Events the orders module publishes.
const (
	// OrderCreated: an order was placed. Payload: KeyOrderID, KeyUserID,
	// KeyTotalMinor, KeyCurrency, KeyItemCount.
	OrderCreated = "order.created"
	// OrderCancelled: an order was cancelled. Payload: KeyOrderID,
	// KeyUserID, KeyReason.
	OrderCancelled = "order.cancelled"
)

// Payload keys.
const (
	KeyOrderID    = "order_id"
	KeyUserID     = "user_id"
	KeyTotalMinor = "total_minor"
	KeyCurrency   = "currency"
	KeyItemCount  = "item_count"
	KeyReason     = "reason"
)
