package gateway

import "testing"

func TestHeaderMatcher(t *testing.T) {
	tests := []struct {
		header  string
		wantKey string
		wantOK  bool
	}{
		{header: "Grpc-Metadata-X-Client-Ip"},
		{header: "grpc-metadata-x-client-ip"},
		{header: "Grpc-Metadata-X-Request-Id"},
		{header: "Grpc-Metadata-X-Client-User-Agent"},
		{header: "X-Request-Id"},
		{header: "X-Client-Ip"},
		{header: "Content-Type", wantKey: "grpcgateway-Content-Type", wantOK: true},
		{header: "Grpc-Metadata-Grpcgateway-Authorization"},
		{header: "Authorization", wantKey: "grpcgateway-Authorization", wantOK: true},
		{header: "Grpc-Metadata-Tenant", wantKey: "Tenant", wantOK: true},
		{header: "Cookie", wantKey: "grpcgateway-cookie", wantOK: true},
		{header: "cookie", wantKey: "grpcgateway-cookie", wantOK: true},
		{header: "Grpc-Metadata-Grpcgateway-Cookie"},
		{header: "Grpc-Metadata-X-Client-Ip-Bin", wantKey: "X-Client-Ip-Bin", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			key, ok := headerMatcher(tt.header)
			if key != tt.wantKey || ok != tt.wantOK {
				t.Errorf("headerMatcher(%q) = %q, %t; want %q, %t", tt.header, key, ok, tt.wantKey, tt.wantOK)
			}
		})
	}
}
