package config

import (
	"fmt"
	"math"
)

// minSecretBits is the entropy a prod JWT_SECRET must show: HS256 keys
// should carry at least 128 bits, and a real random secret of 32 bytes or
// more scores far above it.
const minSecretBits = 128

// secretWeakness tells why s does not look random enough to sign tokens in
// prod, or "" when it does. Length alone accepts 32 × "a"; this catches what
// people type instead of generating: few distinct characters (Shannon
// entropy of the character frequencies, times the length), a block repeated
// ("secretsecretsecret…"), and runs of repeated or consecutive characters
// ("0123456789abcdef…", "aaaa…"). It is an estimate of how a human-made
// string fails, not a proof of randomness: `openssl rand -base64 48` always
// passes.
func secretWeakness(s string) string {
	if bits := entropyBits(s); bits < minSecretBits {
		return fmt.Sprintf("looks low-entropy: about %.0f bits estimated from its characters, at least %d needed", bits, minSecretBits)
	}

	if p := period(s); p > 0 {
		return fmt.Sprintf("repeats a %d-character block", p)
	}

	if runs := runPairs(s); 2*runs > len(s)-1 {
		return fmt.Sprintf("is mostly runs of repeated or consecutive characters (%d of %d neighbours)", runs, len(s)-1)
	}

	return ""
}

// entropyBits estimates the entropy of s as its length times the Shannon
// entropy of its byte frequencies.
func entropyBits(s string) float64 {
	var counts [256]int
	for i := range len(s) {
		counts[s[i]]++
	}

	n := float64(len(s))
	perByte := 0.0

	for _, c := range counts {
		if c > 0 {
			f := float64(c) / n
			perByte -= f * math.Log2(f)
		}
	}

	return perByte * n
}

// period returns the length of the shortest block whose repetition makes up
// s (the last copy may be cut short), or 0 when s is not such a repetition.
func period(s string) int {
	for p := 1; p <= len(s)/2; p++ {
		if s[p:] == s[:len(s)-p] {
			return p
		}
	}

	return 0
}

// runPairs counts the neighbouring bytes of s that are equal or differ by
// one ("aa", "ab", "ba").
func runPairs(s string) int {
	n := 0

	for i := 1; i < len(s); i++ {
		if d := int(s[i]) - int(s[i-1]); d >= -1 && d <= 1 {
			n++
		}
	}

	return n
}
