// Package gateway builds the grpc-gateway mux that serves every module's
// REST API. Handlers call the modules through the in-process gRPC channel,
// so REST requests run the same interceptor chain as gRPC ones (auth,
// validation, error mapping) without a loopback socket; those of a module
// in another process (REMOTE_MODULES) call it over the network, where its
// process runs that chain.
package gateway

import (
	"context"
	stderrors "errors"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/reqmeta"
)

// NewMux returns a gateway mux that writes snake_case JSON, rejects unknown
// request fields, answers errors as {code, message, details}, forwards the
// request ID, client IP, user agent and cookies, reads HTML form bodies
// (formMarshaler), lets a method answer with cookies and a redirect
// (responseHeaders), and labels metrics with the route.
func NewMux() *runtime.ServeMux {
	marshaler := &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}

	return runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		runtime.WithMarshalerOption(mimeForm, formMarshaler{marshaler}),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithMetadata(requestMetadata),
		runtime.WithOutgoingHeaderMatcher(outgoingHeaderMatcher),
		runtime.WithForwardResponseOption(responseHeaders),
		runtime.WithMiddlewares(routeLabel),
	)
}

// reserved metadata keys are set by the gateway alone; a client must not
// inject them with Grpc-Metadata-* headers (it could spoof its IP address).
var reserved = map[string]bool{
	reqmeta.RequestIDHeader: true,
	reqmeta.ClientIPHeader:  true,
	reqmeta.UserAgentHeader: true,
}

// Response header metadata a method sets to shape its HTTP answer: each
// set-cookie value becomes a Set-Cookie header; a location makes the answer
// a 302 Found to it (a browser flow's redirect). Neither is copied as a
// Grpc-Metadata-* header.
const (
	mdLocation  = "location"
	mdSetCookie = "set-cookie"
)

// cookieKey is the metadata key the Cookie header travels under, in the
// namespace of the headers the gateway maps itself.
const cookieKey = runtime.MetadataPrefix + "cookie"

func headerMatcher(key string) (string, bool) {
	if strings.EqualFold(key, "Cookie") {
		return cookieKey, true
	}

	mdKey, ok := runtime.DefaultHeaderMatcher(key)
	if !ok || reserved[strings.ToLower(mdKey)] {
		return "", false
	}

	return mdKey, true
}

func outgoingHeaderMatcher(key string) (string, bool) {
	if key == mdLocation || key == mdSetCookie {
		return "", false
	}

	return runtime.MetadataHeaderPrefix + key, true
}

// responseHeaders writes the cookies and the redirect a method asked for.
func responseHeaders(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}

	for _, c := range md.HeaderMD.Get(mdSetCookie) {
		w.Header().Add("Set-Cookie", c)
	}

	if loc := md.HeaderMD.Get(mdLocation); len(loc) > 0 {
		w.Header().Set("Location", loc[0])
		w.WriteHeader(http.StatusFound)
	}

	return nil
}

func requestMetadata(ctx context.Context, _ *http.Request) metadata.MD {
	return reqmeta.Forwarded(ctx)
}

func routeLabel(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			// Pattern.String writes variables as {name=*}; the route label
			// is the template as written in the proto: {name}.
			middleware.SetRoute(r.Context(), strings.ReplaceAll(p.String(), "=*}", "}"))
		}

		next(w, r, params)
	}
}

// errorHandler writes every error the gateway sees, from the module or from
// decoding the request, as the platform's JSON error body.
func errorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	var httpErr *runtime.HTTPStatusError
	if stderrors.As(err, &httpErr) {
		errors.WriteHTTP(w, httpErr.HTTPStatus, asDomain(httpErr.Err))

		return
	}

	de := asDomain(err)
	errors.WriteHTTP(w, errors.HTTPStatus(de.Type), de)
}

func asDomain(err error) *errors.DomainError {
	var de *errors.DomainError
	if stderrors.As(errors.FromGRPC(err), &de) {
		return de
	}

	return errors.Internal("internal error", err)
}

func routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, status int) {
	switch status {
	case http.StatusMethodNotAllowed:
		errors.WriteHTTP(w, status, errors.New(errors.TypeNotFound, "method "+r.Method+" not allowed here",
			errors.WithErrorCode("METHOD_NOT_ALLOWED")))
	case http.StatusNotFound:
		errors.WriteHTTP(w, status, errors.NotFound("no route for "+r.Method+" "+r.URL.Path))
	default:
		errors.WriteHTTP(w, status, errors.Validation("bad request"))
	}
}
