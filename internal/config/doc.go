// Package config loads configuration in layers and remembers where each value
// came from.
//
// Precedence, lowest to highest:
//
//	struct-tag defaults < YAML file < .env file < process environment
//
// The process environment wins because that is what the platform running the
// process controls (12-factor). A YAML file is typically baked into an image
// or committed next to the code; it must never silently beat ENV=prod or
// DB_DSN set by Kubernetes. The .env file stands in for the environment on a
// developer machine, so it sits just below it.
//
// Each struct field is described by tags:
//
//	HTTPPort int `yaml:"http_port" env:"HTTP_PORT" default:"8080" proddefault:"..." secret:"true|dsn"`
//
// default applies in every profile (no default means the zero value);
// proddefault, when present, replaces it when the resolved ENV is "prod".
// secret marks values that must never be logged: "true" shows only their
// length, "dsn" shows the DSN with its password masked. Supported kinds:
// string, bool, int, int32, int64, float64, time.Duration ("30s") and
// []string (a YAML list, or a comma-separated string).
//
// As with getenv, an empty value in the environment or in .env means unset,
// so a .env copied from an example with blank lines such as "JWT_SECRET="
// changes nothing. A list can still be emptied from the environment with a
// lone ",": list items are split on commas, trimmed, and blanks dropped. In
// YAML a null value means unset and "" or [] sets an empty value.
//
// NewLayers reads the files once; Layers.Load then fills any struct from
// them, so each module reads its own YAML section from the same layers as
// the platform Config (Layers.LoadModule, which also holds a module to
// environment variables named after it). Every Load returns a Report: one Entry per
// field, with its (redacted) value and Source, for the server to log at start.
// A value that does not parse stops start-up with a *KeyError naming the
// environment key and the layer it came from.
package config
