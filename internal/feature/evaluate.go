package feature

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"

	"github.com/open-feature/go-sdk/openfeature"
)

// buckets is how finely Bucket splits users: percentages are whole, so
// 100 buckets per percent leave room for finer ones later without moving
// anyone.
const buckets = 10_000

// Bucket returns the bucket, 0 to 9999, of userID for the flag key: a
// hash of both, so that it is the same on every replica and every run,
// and independent between flags (the users in 10 % of one flag are not
// those of another). A rule with Percentage p admits the buckets below
// p × 100, so raising p keeps everyone it admitted.
func Bucket(key, userID string) int {
	sum := sha256.Sum256([]byte(key + "\x00" + userID))

	return int(binary.BigEndian.Uint64(sum[:8]) % buckets)
}

// Subject is who a flag is evaluated for.
type Subject struct {
	UserID string
	Role   string
}

// Variant names of an evaluation's result, in OpenFeature's details.
const (
	variantDefault = "default"
	variantRule    = "rule-" // + the rule's number, from 1
)

// evaluate returns the flag's value for s, the reason and the variant (the
// rule that matched, or the default). A disabled flag has no value: the
// caller's default applies, for reason DISABLED.
func (f *Flag) evaluate(s Subject) (any, openfeature.Reason, string) {
	if !f.Enabled {
		return nil, openfeature.DisabledReason, ""
	}

	for i, r := range f.Rules {
		if r.matches(f.Key, s) {
			reason := openfeature.TargetingMatchReason
			if r.Percentage != nil {
				reason = openfeature.SplitReason
			}

			return r.Value, reason, variantRule + strconv.Itoa(i+1)
		}
	}

	if len(f.Rules) == 0 {
		return f.Value, openfeature.StaticReason, variantDefault
	}

	return f.Value, openfeature.DefaultReason, variantDefault
}

// matches reports whether every condition the rule sets holds for s. A
// percentage needs a user ID: a caller without one is in no rollout.
func (r *Rule) matches(key string, s Subject) bool {
	if len(r.UserIDs) > 0 && !slices.Contains(r.UserIDs, s.UserID) {
		return false
	}

	if len(r.Roles) > 0 && !slices.Contains(r.Roles, s.Role) {
		return false
	}

	if r.Percentage != nil {
		return s.UserID != "" && Bucket(key, s.UserID) < *r.Percentage*(buckets/100)
	}

	return true
}
