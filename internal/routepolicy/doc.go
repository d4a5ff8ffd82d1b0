// Package routepolicy applies the per-route policies of the configuration
// to the requests of clients, over every transport alike: rate limits
// (RATE_LIMITS), required roles (ROUTE_ROLES) and HTTP caching
// (HTTP_CACHE_CONTROL, with ETags).
//
// Routes are gRPC methods, so that REST (the gateway), GraphQL and native
// gRPC share one rule set: the gRPC interceptor, which every call runs
// after authentication, applies them. It applies them to the calls of
// clients only, each request once:
//
//   - a call over the network is a client's;
//   - a call through the in-process channel is a client's when it comes
//     from an HTTP request (the gateway, GraphQL): Middleware marks those;
//     a module calling another while it serves a request is not charged
//     again, nor held to the roles of the route it calls;
//   - an HTTP request charges each rate-limit rule at most once: a REST
//     call makes one gRPC call; a GraphQL document is charged the rule of
//     /graphql up front (documents that call no module cost too), then the
//     rule of each method it calls that was not yet charged;
//   - WebSocket upgrades (/ws, GraphQL subscriptions) are charged the rule
//     of their path; each GraphQL operation over a socket is a request of
//     its own (Operation).
//
// The caller is the authenticated user, else the client's IP address
// (reqmeta.ClientIP, after the trusted-proxy handling): each rule is a
// budget per caller. Calls that fail authentication are refused before
// they are counted: they cost a signature check.
package routepolicy
