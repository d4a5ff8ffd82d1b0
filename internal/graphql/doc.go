// Package graphql serves /graphql: the GraphQL schema that gqlgen
// generates from every module's schema (gqlgen.yml), over HTTP (POST, and
// GET for queries) and WebSocket (graphql-transport-ws, for
// subscriptions), with GraphiQL in dev.
//
// Resolvers are the modules' (modules/<module>/graphql): each field calls
// the module's gRPC API through its generated client on the in-process
// channel (Deps.Conn), with the request's credentials and metadata, so
// that authentication, validation, authorization, tracing and domain
// errors are exactly those of gRPC and REST. Errors reach the client with
// the domain code in extensions.code. Subscriptions stream the typed
// events the modules route to WebSocket clients (Subscribe), from every
// replica, and end with the session.
//
// Limits: query depth and complexity, an optional allow-list of persisted
// queries (GRAPHQL_ALLOWLIST) for prod, and introspection and the
// playground only where enabled (dev).
package graphql
