package graphql

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// Time returns ts as a time.Time, the zero time for nil.
func Time(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}

	return ts.AsTime()
}

// Optional returns nil for "", else &s: proto3 strings are empty where a
// GraphQL field is null.
func Optional(s string) *string {
	if s == "" {
		return nil
	}

	return &s
}
