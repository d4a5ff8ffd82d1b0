// Package models holds the orders module's domain types, shared by its
// service and repository.
package models

import "time"

// Order statuses, as stored.
const (
	StatusPlaced    = "placed"
	StatusCancelled = "cancelled"
)

// Order is a user's order.
type Order struct {
	ID           string
	UserID       string
	Status       string
	Currency     string
	TotalMinor   int64
	CancelReason string
	Items        []Item
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Item is one line of an order.
type Item struct {
	SKU            string
	Quantity       int32
	UnitPriceMinor int64
}
