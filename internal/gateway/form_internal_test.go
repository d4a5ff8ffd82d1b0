package gateway

import (
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
)

func TestFormMarshalerDecodes(t *testing.T) {
	t.Parallel()

	m := formMarshaler{&runtime.JSONPb{}}
	body := "state=s%201&code=c&user=%7B%22name%22%3A%7B%7D%7D&id_token=x"

	var got authv1.FormPostOAuthRequest
	if err := m.NewDecoder(strings.NewReader(body)).Decode(&got); err != nil {
		t.Fatalf("Decode(%q) = %v", body, err)
	}

	want := &authv1.FormPostOAuthRequest{State: "s 1", Code: "c"}
	if !proto.Equal(want, &got) {
		t.Errorf("Decode(%q) = %v, want %v (unknown fields ignored)", body, &got, want)
	}

	if err := m.NewDecoder(strings.NewReader("%zz")).Decode(&got); err == nil {
		t.Error("Decode(malformed form) = nil, want an error")
	}

	var notMessage struct{}
	if err := m.NewDecoder(strings.NewReader(body)).Decode(&notMessage); err == nil {
		t.Error("Decode(into a struct) = nil, want an error")
	}
}
