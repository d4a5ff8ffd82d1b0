package feature

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	featurev1 "github.com/modulith/modulith/gen/go/feature/v1"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
)

// Service implements feature.v1.FlagService, the admin API of the flags:
// every method needs the admin role, and a change's actor is the caller's
// user ID.
type Service struct {
	featurev1.UnimplementedFlagServiceServer

	store *Store
}

// NewService returns the admin API over store.
func NewService(store *Store) *Service { return &Service{store: store} }

// API is the service as the registry serves it: on the gRPC server, the
// in-process channel and the REST gateway (registry.Registry.ServePlatform).
func (s *Service) API() apiversion.API {
	return apiversion.API{
		Service:      &featurev1.FlagService_ServiceDesc,
		RegisterGRPC: func(r grpc.ServiceRegistrar) { featurev1.RegisterFlagServiceServer(r, s) },
		RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
			return featurev1.RegisterFlagServiceHandlerClient(ctx, mux, featurev1.NewFlagServiceClient(conn))
		},
	}
}

// admin returns the caller's user ID when the caller is an admin.
func admin(ctx context.Context) (string, error) {
	if err := authz.RequireRole(ctx, authz.RoleAdmin); err != nil {
		return "", err
	}

	id, _ := authn.FromContext(ctx)

	return id.UserID, nil
}

// ListFlags lists every flag.
func (s *Service) ListFlags(ctx context.Context, _ *featurev1.ListFlagsRequest) (*featurev1.ListFlagsResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}

	flags, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}

	out := make([]*featurev1.Flag, 0, len(flags))
	for i := range flags {
		out = append(out, ToProto(flags[i]))
	}

	return &featurev1.ListFlagsResponse{Flags: out}, nil
}

// GetFlag returns one flag.
func (s *Service) GetFlag(ctx context.Context, req *featurev1.GetFlagRequest) (*featurev1.GetFlagResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}

	if err := checkKey(req.GetKey()); err != nil {
		return nil, err
	}

	f, err := s.store.Get(ctx, req.GetKey())
	if err != nil {
		return nil, err
	}

	return &featurev1.GetFlagResponse{Flag: ToProto(f)}, nil
}

// CreateFlag creates a flag.
func (s *Service) CreateFlag(ctx context.Context, req *featurev1.CreateFlagRequest) (*featurev1.CreateFlagResponse, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}

	f, err := s.store.Create(ctx, actor, fromProto(req.GetFlag()))
	if err != nil {
		return nil, err
	}

	return &featurev1.CreateFlagResponse{Flag: ToProto(f)}, nil
}

// UpdateFlag replaces a flag's definition.
func (s *Service) UpdateFlag(ctx context.Context, req *featurev1.UpdateFlagRequest) (*featurev1.UpdateFlagResponse, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}

	def := fromProto(req.GetFlag())
	if def.Key != "" && def.Key != req.GetKey() {
		return nil, errors.Validation("invalid flag", errors.WithField("flag.key", "must be the key of the URL or request, or empty"))
	}

	def.Key = req.GetKey()

	f, err := s.store.Update(ctx, actor, def)
	if err != nil {
		return nil, err
	}

	return &featurev1.UpdateFlagResponse{Flag: ToProto(f)}, nil
}

// DeleteFlag deletes a flag.
func (s *Service) DeleteFlag(ctx context.Context, req *featurev1.DeleteFlagRequest) (*featurev1.DeleteFlagResponse, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}

	if err := checkKey(req.GetKey()); err != nil {
		return nil, err
	}

	if _, err := s.store.Delete(ctx, actor, req.GetKey()); err != nil {
		return nil, err
	}

	return &featurev1.DeleteFlagResponse{}, nil
}

// checkKey refuses a key no flag can have.
func checkKey(key string) error {
	if !keyPattern.MatchString(key) {
		return errors.Validation("invalid flag key", errors.WithField("key", "must be <module>.<name>, e.g. orders.create_enabled"))
	}

	return nil
}

var (
	typeToProto = map[Type]featurev1.FlagType{
		TypeBoolean: featurev1.FlagType_FLAG_TYPE_BOOLEAN, TypeString: featurev1.FlagType_FLAG_TYPE_STRING,
		TypeInt: featurev1.FlagType_FLAG_TYPE_INT, TypeFloat: featurev1.FlagType_FLAG_TYPE_FLOAT,
	}
	typeFromProto = map[featurev1.FlagType]Type{
		featurev1.FlagType_FLAG_TYPE_BOOLEAN: TypeBoolean, featurev1.FlagType_FLAG_TYPE_STRING: TypeString,
		featurev1.FlagType_FLAG_TYPE_INT: TypeInt, featurev1.FlagType_FLAG_TYPE_FLOAT: TypeFloat,
	}
)

// fromProto reads a flag definition; Validate checks it.
func fromProto(p *featurev1.Flag) Flag {
	f := Flag{
		Key: p.GetKey(), Type: typeFromProto[p.GetType()], Description: p.GetDescription(), Enabled: p.GetEnabled(),
		Value: valueOf(p.GetValue()),
	}

	for _, r := range p.GetRules() {
		rule := Rule{UserIDs: r.GetUserIds(), Roles: r.GetRoles(), Value: valueOf(r.GetValue())}
		if r.Percentage != nil {
			pct := int(r.GetPercentage())
			rule.Percentage = &pct
		}

		f.Rules = append(f.Rules, rule)
	}

	return f
}

// valueOf is a Value's Go value; nil when unset.
func valueOf(v *structpb.Value) any {
	if v == nil {
		return nil
	}

	return v.AsInterface()
}

// ToProto returns f as the admin API returns it.
func ToProto(f Flag) *featurev1.Flag {
	p := &featurev1.Flag{
		Key: f.Key, Type: typeToProto[f.Type], Description: f.Description, Enabled: f.Enabled, Value: protoValue(f.Value),
		Version: f.Version, UpdateActor: f.UpdatedBy,
		CreateTime: timestamppb.New(f.CreatedAt), UpdateTime: timestamppb.New(f.UpdatedAt),
	}

	for _, r := range f.Rules {
		rule := &featurev1.Rule{UserIds: r.UserIDs, Roles: r.Roles, Value: protoValue(r.Value)}
		if r.Percentage != nil {
			pct := int32(*r.Percentage) //nolint:gosec // 0 to 100 (Validate)
			rule.Percentage = &pct
		}

		p.Rules = append(p.Rules, rule)
	}

	return p
}

// protoValue is a stored (validated) value as a Value.
func protoValue(v any) *structpb.Value {
	out, err := structpb.NewValue(v)
	if err != nil { // a stored value is a bool, string, int64 or float64
		return structpb.NewNullValue()
	}

	return out
}
