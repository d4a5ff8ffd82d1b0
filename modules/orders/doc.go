// Package orders is the orders module: users place, list and cancel
// orders over gRPC (orders.v1.OrderService) and REST (/v1/orders). It owns
// the PostgreSQL schema orders, checks each new order's user with the auth
// module through auth's generated gRPC client (in process by default, over
// the network when REMOTE_MODULES says auth runs elsewhere; the caller's
// identity travels with the call), and publishes order.created and
// order.cancelled in the transaction of the change, which the WebSocket
// forwarder sends to the user's open sockets.
//
// Other modules may import only its events package (event names and
// payload keys) and its generated client (gen/go/orders/v1).
package orders
