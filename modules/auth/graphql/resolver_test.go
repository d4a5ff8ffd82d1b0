package graphql

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/gen/graphql/model"
)

// fakeAuth answers the profile calls.
type fakeAuth struct {
	authv1.AuthServiceClient

	update *authv1.UpdateProfileRequest
}

func (f *fakeAuth) GetProfile(context.Context, *authv1.GetProfileRequest, ...grpc.CallOption) (*authv1.GetProfileResponse, error) {
	return &authv1.GetProfileResponse{User: &authv1.User{Id: "user_a", Email: "a@example.com", Role: "user"}}, nil
}

func (f *fakeAuth) UpdateProfile(_ context.Context, in *authv1.UpdateProfileRequest, _ ...grpc.CallOption) (*authv1.UpdateProfileResponse, error) {
	f.update = in

	return &authv1.UpdateProfileResponse{User: &authv1.User{Id: "user_a", DisplayName: in.GetDisplayName()}}, nil
}

func (f *fakeAuth) RevokeSession(context.Context, *authv1.RevokeSessionRequest, ...grpc.CallOption) (*authv1.RevokeSessionResponse, error) {
	return nil, status.Error(codes.NotFound, "[NOT_FOUND] session not found")
}

func TestMeHasNullForAbsentContacts(t *testing.T) {
	t.Parallel()

	me, err := Query{&Resolver{client: &fakeAuth{}}}.Me(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	if me.Email == nil || *me.Email != "a@example.com" || me.Phone != nil {
		t.Errorf("me = %+v, want the email and a null phone", me)
	}
}

func TestUpdateProfileSendsOnlyTheFieldsGiven(t *testing.T) {
	t.Parallel()

	fake := &fakeAuth{}
	r := &Resolver{client: fake}
	name := "Ada"

	if _, err := (Mutation{r}).UpdateProfile(t.Context(), model.UpdateProfileInput{DisplayName: &name}); err != nil {
		t.Fatal(err)
	}

	if fake.update.DisplayName == nil || fake.update.GetDisplayName() != "Ada" {
		t.Errorf("UpdateProfile(%v), want display_name Ada", fake.update)
	}

	// An input field left out stays unset: the API leaves it as it is.
	if _, err := (Mutation{r}).UpdateProfile(t.Context(), model.UpdateProfileInput{}); err != nil || fake.update.DisplayName != nil {
		t.Errorf("UpdateProfile({}) sent %v (%v), want no display_name", fake.update, err)
	}
}

func TestResolversReturnTheModulesError(t *testing.T) {
	t.Parallel()

	// The module's error reaches the presenter as it came.
	ok, err := (Mutation{&Resolver{client: &fakeAuth{}}}).RevokeSession(t.Context(), "sess_x")
	if ok || status.Code(err) != codes.NotFound {
		t.Errorf("RevokeSession() = %v, %v, want false and the NotFound status", ok, err)
	}
}
