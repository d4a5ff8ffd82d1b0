package events

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modulith/modulith/internal/secrets"
)

// sealLabel derives the sealing key from the platform secret.
const sealLabel = "modulith/events/secret/v1"

// sealer encrypts event secrets with AES-256-GCM, bound to the event ID,
// under a key derived from the platform secret. During a rotation it seals
// with the current key and opens with either, so that events sealed before
// the rotation, still in the outbox or awaiting a retry, are delivered.
type sealer struct {
	key *secrets.Key
}

// newSealer derives the sealing key from the platform secret.
func newSealer(secret *secrets.Secret) *sealer {
	return &sealer{key: secret.Key(sealLabel)}
}

// aead returns the cipher of one derived key.
func aead(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("events: sealing key: %w", err)
	}

	c, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("events: sealing cipher: %w", err)
	}

	return c, nil
}

func (s *sealer) seal(eventID string, secret map[string]string) ([]byte, error) {
	if len(secret) == 0 {
		return nil, nil
	}

	plain, err := json.Marshal(secret)
	if err != nil {
		return nil, fmt.Errorf("events: encode secret: %w", err)
	}

	current, _ := s.key.Keys()

	c, err := aead(current)
	if err != nil {
		return nil, err
	}

	nonce := make([]byte, c.NonceSize(), c.NonceSize()+len(plain)+c.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("events: nonce: %w", err)
	}

	return c.Seal(nonce, nonce, plain, []byte(eventID)), nil
}

// open opens a sealed secret with the current key or, during a rotation,
// the previous one.
func (s *sealer) open(eventID string, sealed []byte) (map[string]string, error) {
	if len(sealed) == 0 {
		return nil, nil
	}

	current, previous := s.key.Keys()

	plain, err := openWith(current, eventID, sealed)
	if err != nil && previous != nil {
		var again error
		if plain, again = openWith(previous, eventID, sealed); again == nil {
			err = nil
		}
	}

	if err != nil {
		return nil, err
	}

	var secret map[string]string
	if err := json.Unmarshal(plain, &secret); err != nil {
		return nil, fmt.Errorf("events: decode secret of event %s: %w", eventID, err)
	}

	return secret, nil
}

// errTruncated is a sealed secret shorter than its nonce.
var errTruncated = errors.New("truncated")

// openWith opens sealed under one key.
func openWith(key []byte, eventID string, sealed []byte) ([]byte, error) {
	c, err := aead(key)
	if err != nil {
		return nil, err
	}

	n := c.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("events: sealed secret of event %s: %w", eventID, errTruncated)
	}

	plain, err := c.Open(nil, sealed[:n], sealed[n:], []byte(eventID))
	if err != nil {
		return nil, fmt.Errorf("events: open secret of event %s: %w", eventID, err)
	}

	return plain, nil
}
