package events

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// sealer encrypts event secrets with AES-256-GCM, bound to the event ID.
type sealer struct {
	aead cipher.AEAD
}

// newSealer derives the sealing key from the platform secret.
func newSealer(secret []byte) (*sealer, error) {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("modulith/events/secret/v1"))

	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("events: sealing key: %w", err)
	}

	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("events: sealing cipher: %w", err)
	}

	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(eventID string, secret map[string]string) ([]byte, error) {
	if len(secret) == 0 {
		return nil, nil
	}

	plain, err := json.Marshal(secret)
	if err != nil {
		return nil, fmt.Errorf("events: encode secret: %w", err)
	}

	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("events: nonce: %w", err)
	}

	return s.aead.Seal(nonce, nonce, plain, []byte(eventID)), nil
}

func (s *sealer) open(eventID string, sealed []byte) (map[string]string, error) {
	if len(sealed) == 0 {
		return nil, nil
	}

	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("events: sealed secret of event %s is truncated", eventID)
	}

	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(eventID))
	if err != nil {
		return nil, fmt.Errorf("events: open secret of event %s: %w", eventID, err)
	}

	var secret map[string]string
	if err := json.Unmarshal(plain, &secret); err != nil {
		return nil, fmt.Errorf("events: decode secret of event %s: %w", eventID, err)
	}

	return secret, nil
}
