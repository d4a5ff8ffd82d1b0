// Package websocket pushes events to clients over WebSockets: a client
// opens /ws with its access token and receives, as JSON text messages
// {"event": "<name>", "data": {…}}, the events that concern its user.
//
// Modules declare which events go out and to whom (Route: ToUser,
// ToEveryone), and which events end a session's sockets (EndSession); the
// platform names none. A Forwarder, a durable subscriber of the event bus,
// turns each routed event into an Envelope and publishes it on a Fanout,
// which reaches the Hub of every replica: PostgreSQL LISTEN/NOTIFY
// (PostgresFanout) by default, NATS core publish/subscribe (NATSFanout) with
// the NATS event transport. The bus hands an event to one process of the
// cluster; the fan-out carries it to the replica that holds the sockets.
//
// Handler authenticates the upgrade like any request (access token, live
// session), taking the token from the Authorization header or, for
// browsers, which cannot set headers, from a "bearer.<token>" subprotocol
// offered next to Subprotocol; checks the Origin against the CORS
// allow-list; and hands the socket to the Hub.
//
// The Hub indexes sockets by user and by session. Each socket has a bounded
// queue (a client that lets it fill is closed with 1013 instead of slowing
// the others), written by a goroutine that runs only while frames wait, so
// an idle socket costs no writer; a ping every PingInterval that must be
// answered within PongTimeout; and a reader that answers control frames
// and discards what clients send: the socket is one-way, and a
// client message over 1 KiB closes it with 1009. Delivery is best effort:
// a message can be lost (a socket reconnecting, a fan-out listener
// reconnecting) or, rarely, repeated (a bus retry after the NATS fan-out
// sent it), so a client that reconnects refetches the state it shows.
package websocket
