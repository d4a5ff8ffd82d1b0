package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/joho/godotenv"
	"go.yaml.in/yaml/v3"
)

// defaultConfigFile is read when CONFIG_FILE is not set, like the server does.
const defaultConfigFile = "configs/server.yaml"

// fileConfig is what devdb reads of the server's config file.
type fileConfig struct {
	DSN    string `yaml:"db_dsn"`
	Events struct {
		NATSURL string `yaml:"nats_url"`
	} `yaml:"events"`
}

// setting is one key of the server's configuration that devdb needs.
type setting struct {
	env      string                  // the environment variable, also read from .env
	fromFile func(fileConfig) string // the key in the config file
	fallback string                  // the server's built-in default
}

// resolveSetting finds the value the server would use when started from
// dir, with the same precedence: the environment variable, then the same
// variable in dir/.env, then the config file (CONFIG_FILE, from the
// environment or .env, or configs/server.yaml), then the default. It also
// says where the value came from. The process environment is never modified.
func resolveSetting(dir string, getenv func(string) string, s setting) (value, source string, err error) {
	if v := getenv(s.env); v != "" {
		return v, "the " + s.env + " environment variable", nil
	}

	dotenv, err := readDotenv(filepath.Join(dir, ".env"))
	if err != nil {
		return "", "", err
	}

	if v := dotenv[s.env]; v != "" {
		return v, ".env", nil
	}

	name := getenv("CONFIG_FILE")
	if name == "" {
		name = dotenv["CONFIG_FILE"]
	}

	cfg, err := readConfig(dir, name)
	if err != nil {
		return "", "", err
	}

	if v := s.fromFile(cfg); v != "" {
		return v, configName(name), nil
	}

	return s.fallback, "the default", nil
}

// readDotenv returns the variables of a .env file; a missing file has none.
func readDotenv(path string) (map[string]string, error) {
	vars, err := godotenv.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}

	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}

	return vars, nil
}

// readConfig reads the config file name, relative to dir, or
// configs/server.yaml when name is empty. Only an explicitly named file
// has to exist.
func readConfig(dir, name string) (fileConfig, error) {
	path := configName(name)
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}

	var cfg fileConfig

	data, err := os.ReadFile(filepath.Clean(path))
	if name == "" && errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}

	if err != nil {
		return cfg, fmt.Errorf("read config file: %w", err)
	}

	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("parse %s: %w", path, err)
	}

	return cfg, nil
}

// configName returns the config file to read: name, or the default.
func configName(name string) string {
	if name == "" {
		return defaultConfigFile
	}

	return name
}
