package shop

import (
	"context"

	shopv1 "example.com/shop/gen/go/shop/v1"
	shopv2 "example.com/shop/gen/go/shop/v2"
	"example.com/shop/internal/apiversion"
)

// catalogV2 serves shop.v2.Catalog by forwarding each call to v1: the
// request is converted to its v1 message, served by the v1 implementation,
// and the response converted back, which is exact while the messages of
// the two versions keep the same fields. scripts/protoversion wrote this
// when it copied v2 from v1; the file is yours now: when a v2 message
// changes, convert it or implement the method here.
//
// Not forwarded (streaming, or messages of another package), so answered
// Unimplemented until written here: Watch, Ping.
func (a api) catalogV2() shopv2.CatalogServer {
	return catalogV2Server{prev: a.catalogV1()}
}

type catalogV2Server struct {
	shopv2.UnimplementedCatalogServer

	prev shopv1.CatalogServer
}

func (s catalogV2Server) GetItem(ctx context.Context, req *shopv2.GetItemRequest) (*shopv2.Item, error) {
	return apiversion.Forward[shopv2.Item](ctx, req, s.prev.GetItem)
}

// adminV2 serves shop.v2.Admin by forwarding each call to v1: the
// request is converted to its v1 message, served by the v1 implementation,
// and the response converted back, which is exact while the messages of
// the two versions keep the same fields. scripts/protoversion wrote this
// when it copied v2 from v1; the file is yours now: when a v2 message
// changes, convert it or implement the method here.
//
// Not forwarded (streaming, or messages of another package), so answered
// Unimplemented until written here: Reset.
func (a api) adminV2() shopv2.AdminServer {
	return adminV2Server{prev: a.adminV1()}
}

type adminV2Server struct {
	shopv2.UnimplementedAdminServer

	prev shopv1.AdminServer
}
