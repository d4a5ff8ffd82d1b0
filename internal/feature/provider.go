package feature

import (
	"context"
	"fmt"
	"strings"

	"github.com/open-feature/go-sdk/openfeature"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/telemetry"
)

// ProviderName is the provider's name in OpenFeature's metadata.
const ProviderName = "modulith-postgres"

// RoleAttribute is the evaluation context attribute rules match roles
// against; the targeting key is the user ID.
const RoleAttribute = "role"

// provider is the OpenFeature provider of one module's namespace: it
// evaluates the flags whose key starts with "<namespace>." from the
// in-memory snapshot, and refuses any other key, so that a module reads
// only its own flags.
type provider struct {
	flags     *Flags
	namespace string
}

var _ openfeature.FeatureProvider = (*provider)(nil)

func (p *provider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: ProviderName} }

// Hooks fills the evaluation context from the request's identity and
// counts evaluations.
func (p *provider) Hooks() []openfeature.Hook { return []openfeature.Hook{identityHook{}, countHook{}} }

func (p *provider) BooleanEvaluation(_ context.Context, key string, def bool, fc openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return resolve(p, key, TypeBoolean, def, fc)
}

func (p *provider) StringEvaluation(_ context.Context, key, def string, fc openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	return resolve(p, key, TypeString, def, fc)
}

func (p *provider) FloatEvaluation(_ context.Context, key string, def float64, fc openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	return resolve(p, key, TypeFloat, def, fc)
}

func (p *provider) IntEvaluation(_ context.Context, key string, def int64, fc openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	return resolve(p, key, TypeInt, def, fc)
}

// ObjectEvaluation: flags hold booleans, strings and numbers only.
func (p *provider) ObjectEvaluation(_ context.Context, key string, def any, _ openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	return failed(def, openfeature.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q: object flags are not supported", key)))
}

// resolve evaluates key, of type t, for the caller that fc describes.
func resolve[T any](p *provider, key string, t Type, def T, fc openfeature.FlattenedContext) openfeature.GenericResolutionDetail[T] {
	if !strings.HasPrefix(key, p.namespace+".") {
		return failed(def, openfeature.NewGeneralResolutionError(
			fmt.Sprintf("flag %q is outside namespace %q: a module evaluates only its own flags", key, p.namespace)))
	}

	snap := p.flags.snapshot.Load()
	if snap == nil {
		return failed(def, openfeature.NewProviderNotReadyResolutionError("feature flags not loaded yet"))
	}

	f, ok := snap.flags[key]
	if !ok {
		return failed(def, openfeature.NewFlagNotFoundResolutionError(fmt.Sprintf("flag %q does not exist", key)))
	}

	if f.Type != t {
		return failed(def, openfeature.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q is a %s flag, not %s", key, f.Type, t)))
	}

	value, reason, variant := f.evaluate(subject(fc))
	detail := openfeature.ProviderResolutionDetail{
		Reason: reason, Variant: variant, FlagMetadata: openfeature.FlagMetadata{"version": f.Version},
	}

	v, ok := value.(T)
	if !ok { // disabled: the caller's default
		v = def
	}

	return openfeature.GenericResolutionDetail[T]{Value: v, ProviderResolutionDetail: detail}
}

func failed[T any](def T, err openfeature.ResolutionError) openfeature.GenericResolutionDetail[T] {
	return openfeature.GenericResolutionDetail[T]{
		Value:                    def,
		ProviderResolutionDetail: openfeature.ProviderResolutionDetail{ResolutionError: err, Reason: openfeature.ErrorReason},
	}
}

// subject reads the caller from an evaluation context.
func subject(fc openfeature.FlattenedContext) Subject {
	userID, _ := fc[openfeature.TargetingKey].(string)
	role, _ := fc[RoleAttribute].(string)

	return Subject{UserID: userID, Role: role}
}

// identityHook makes the request's caller (authn.FromContext) the
// evaluation's subject, so that modules need not pass it: the user ID is
// the targeting key, the role the "role" attribute. What the evaluating
// code set itself wins.
type identityHook struct{ openfeature.UnimplementedHook }

func (identityHook) Before(ctx context.Context, hc openfeature.HookContext, _ openfeature.HookHints) (*openfeature.EvaluationContext, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return nil, nil //nolint:nilnil // no caller: the context stays as it is
	}

	given := hc.EvaluationContext()

	key := given.TargetingKey()
	if key == "" {
		key = id.UserID
	}

	attrs := given.Attributes()
	if _, set := attrs[RoleAttribute]; !set {
		attrs[RoleAttribute] = id.Role
	}

	ec := openfeature.NewEvaluationContext(key, attrs)

	return &ec, nil
}

// evaluations counts flag evaluations by key, reason and error code, from
// the global meter provider (the process's, once installed). It records
// no value: a flag's value may be something nobody should read in
// metrics.
var evaluations, _ = otel.Meter(telemetry.InstrumentationName).Int64Counter("feature.evaluations",
	metric.WithDescription("Feature flag evaluations by flag, reason and error code."))

// countHook counts every evaluation once it is done.
type countHook struct{ openfeature.UnimplementedHook }

func (countHook) Finally(ctx context.Context, hc openfeature.HookContext, d openfeature.InterfaceEvaluationDetails, _ openfeature.HookHints) {
	evaluations.Add(ctx, 1, metric.WithAttributes(
		attribute.String("flag", hc.FlagKey()), attribute.String("reason", string(d.Reason)),
		attribute.String("error", string(d.ErrorCode)),
	))
}
