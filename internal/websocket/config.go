package websocket

import (
	"fmt"
	"regexp"
	"time"
)

// Config configures the realtime endpoint; it is the "websocket" section of
// the configuration, every key also settable by its environment variable.
type Config struct {
	// SendBuffer is how many messages may wait for a socket; a client that
	// lets it fill is too slow and is disconnected (close code 1013).
	SendBuffer int `yaml:"send_buffer" env:"WS_SEND_BUFFER" default:"64"`
	// PingInterval is how often the server pings each socket; a socket
	// that does not answer within PongTimeout is closed.
	PingInterval time.Duration `yaml:"ping_interval" env:"WS_PING_INTERVAL" default:"30s"`
	PongTimeout  time.Duration `yaml:"pong_timeout" env:"WS_PONG_TIMEOUT" default:"10s"`
	// WriteTimeout bounds the write of one message to a socket.
	WriteTimeout time.Duration `yaml:"write_timeout" env:"WS_WRITE_TIMEOUT" default:"10s"`
	// MaxUserConnections caps the sockets one user may hold on a replica.
	MaxUserConnections int `yaml:"max_user_connections" env:"WS_MAX_USER_CONNECTIONS" default:"32"`
	// QueryToken also accepts the access token as ?token=…; off by default,
	// since URLs end up in proxy logs and browser history.
	QueryToken bool `yaml:"query_token" env:"WS_QUERY_TOKEN" default:"false"`
	// PostgresChannel is the LISTEN/NOTIFY channel replicas exchange
	// messages on (events transport "postgres").
	PostgresChannel string `yaml:"postgres_channel" env:"WS_POSTGRES_CHANNEL" default:"modulith_ws"`
	// NATSSubject is the subject replicas exchange messages on (events
	// transport "nats", on the events' NATS_URL); empty means the
	// cluster's own, modulith.<cluster ID>.ws, so that deployments sharing
	// a NATS server never see each other's messages.
	NATSSubject string `yaml:"nats_subject" env:"WS_NATS_SUBJECT"`
}

var (
	// channelName is an unquoted PostgreSQL identifier, safe in LISTEN.
	channelName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	// subjectName is a NATS subject without wildcards.
	subjectName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.SendBuffer < 1:
		return fmt.Errorf("WS_SEND_BUFFER: must be at least 1 (got %d)", c.SendBuffer)
	case c.PingInterval <= 0 || c.PongTimeout <= 0 || c.WriteTimeout <= 0:
		return fmt.Errorf("WS_PING_INTERVAL, WS_PONG_TIMEOUT and WS_WRITE_TIMEOUT must be positive")
	case c.MaxUserConnections < 1:
		return fmt.Errorf("WS_MAX_USER_CONNECTIONS: must be at least 1 (got %d)", c.MaxUserConnections)
	case !channelName.MatchString(c.PostgresChannel):
		return fmt.Errorf("WS_POSTGRES_CHANNEL: %q must match %s", c.PostgresChannel, channelName)
	case c.NATSSubject != "" && !subjectName.MatchString(c.NATSSubject):
		return fmt.Errorf("WS_NATS_SUBJECT: %q must be a subject without wildcards", c.NATSSubject)
	default:
		return nil
	}
}
