package service

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/modulith/modulith/modules/auth/internal/oauth"
)

// providerApple is Sign in with Apple, whose callback is a form POST.
const providerApple = "apple"

// providerName is what a provider may be called: it is a URL path segment.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// validateOAuth checks the OAuth settings: every enabled provider has its
// credentials, and the URLs are absolute.
func (c Config) validateOAuth() error {
	if min(c.OAuthStateTTL, c.OAuthExchangeTTL) <= 0 || c.OAuthRequestsPerIP < 1 {
		return fmt.Errorf("AUTH_OAUTH_STATE_TTL, AUTH_OAUTH_EXCHANGE_TTL and AUTH_OAUTH_RATE_REQUESTS_PER_IP must be positive")
	}

	for _, u := range c.OAuthRedirectURLs {
		if err := absoluteURL(u); err != nil {
			return fmt.Errorf("AUTH_OAUTH_REDIRECT_URLS: %q %w", u, err)
		}
	}

	if len(c.OAuthProviders) == 0 {
		return nil
	}

	if err := checkBaseURL(c.OAuthBaseURL); err != nil {
		return err
	}

	for _, name := range c.OAuthProviders {
		if err := c.checkProvider(name); err != nil {
			return err
		}
	}

	return nil
}

// absoluteURL checks u is an absolute http(s) URL without a fragment.
func absoluteURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Fragment != "" {
		return fmt.Errorf("is not an absolute http(s) URL without a fragment")
	}

	return nil
}

// checkBaseURL checks the public URL: absolute, and https unless the
// server is on loopback, for the binding cookie is Secure and over plain
// http only a loopback server gets it back.
func checkBaseURL(base string) error {
	if err := absoluteURL(base); err != nil {
		return fmt.Errorf("AUTH_OAUTH_BASE_URL is required with AUTH_OAUTH_PROVIDERS: %q %w", base, err)
	}

	if u, _ := url.Parse(base); u.Scheme == "http" && !loopback(u.Hostname()) {
		return fmt.Errorf("AUTH_OAUTH_BASE_URL must be https, except on localhost (got %q)", base)
	}

	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.IsLoopback()
	}

	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// checkProvider checks that provider name has its credentials.
func (c Config) checkProvider(name string) error {
	if !providerName.MatchString(name) {
		return fmt.Errorf("AUTH_OAUTH_PROVIDERS: %q is not a provider name (lowercase letters, digits, - and _)", name)
	}

	if keys, ok := c.builtinKeys()[name]; ok {
		for _, k := range keys {
			if k.value == "" {
				return fmt.Errorf("%s is required: provider %s is in AUTH_OAUTH_PROVIDERS", k.key, name)
			}
		}

		return nil
	}

	for _, k := range c.oidcKeys(name) {
		if k.value == "" {
			return fmt.Errorf("%s needs an entry %s=…: provider %s is in AUTH_OAUTH_PROVIDERS", k.key, name, name)
		}
	}

	if err := absoluteURL(entry(c.OIDCIssuers, name)); err != nil {
		return fmt.Errorf("AUTH_OAUTH_OIDC_ISSUERS: the issuer of %s %w", name, err)
	}

	return nil
}

// setting is a configuration value with the key that sets it.
type setting struct{ key, value string }

// builtinKeys lists the settings each built-in provider needs.
func (c Config) builtinKeys() map[string][]setting {
	return map[string][]setting{
		"google":    {{"AUTH_OAUTH_GOOGLE_CLIENT_ID", c.GoogleClientID}, {"AUTH_OAUTH_GOOGLE_CLIENT_SECRET", c.GoogleClientSecret}},
		"github":    {{"AUTH_OAUTH_GITHUB_CLIENT_ID", c.GitHubClientID}, {"AUTH_OAUTH_GITHUB_CLIENT_SECRET", c.GitHubClientSecret}},
		"microsoft": {{"AUTH_OAUTH_MICROSOFT_CLIENT_ID", c.MicrosoftClientID}, {"AUTH_OAUTH_MICROSOFT_CLIENT_SECRET", c.MicrosoftClientSecret}},
		"facebook":  {{"AUTH_OAUTH_FACEBOOK_CLIENT_ID", c.FacebookClientID}, {"AUTH_OAUTH_FACEBOOK_CLIENT_SECRET", c.FacebookClientSecret}},
		"x":         {{"AUTH_OAUTH_X_CLIENT_ID", c.XClientID}, {"AUTH_OAUTH_X_CLIENT_SECRET", c.XClientSecret}},
		providerApple: {
			{"AUTH_OAUTH_APPLE_CLIENT_ID", c.AppleClientID}, {"AUTH_OAUTH_APPLE_TEAM_ID", c.AppleTeamID},
			{"AUTH_OAUTH_APPLE_KEY_ID", c.AppleKeyID}, {"AUTH_OAUTH_APPLE_PRIVATE_KEY", c.ApplePrivateKey},
		},
	}
}

// oidcKeys lists the settings of OpenID Connect provider name.
func (c Config) oidcKeys(name string) []setting {
	return []setting{
		{"AUTH_OAUTH_OIDC_ISSUERS", entry(c.OIDCIssuers, name)},
		{"AUTH_OAUTH_OIDC_CLIENT_IDS", entry(c.OIDCClientIDs, name)},
		{"AUTH_OAUTH_OIDC_CLIENT_SECRETS", entry(c.OIDCClientSecrets, name)},
	}
}

// entry returns the value of name in a list of "name=value" entries.
func entry(list []string, name string) string {
	for _, e := range list {
		if k, v, ok := strings.Cut(e, "="); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}

	return ""
}

// providerTimeout bounds every request to a provider.
const providerTimeout = 15 * time.Second

// oauthProviders builds the enabled providers, by name, reaching them
// through client (nil: a plain one); the configuration has been validated.
func (c Config) oauthProviders(client *http.Client) (map[string]*oauth.Provider, error) {
	bounded := &http.Client{Timeout: providerTimeout}
	if client != nil {
		bounded.Transport, bounded.Jar, bounded.CheckRedirect = client.Transport, client.Jar, client.CheckRedirect
	}

	site := oauth.Site{BaseURL: c.OAuthBaseURL, Client: bounded}
	out := make(map[string]*oauth.Provider, len(c.OAuthProviders))

	for _, name := range c.OAuthProviders {
		p, err := c.provider(site, name)
		if err != nil {
			return nil, err
		}

		out[name] = p
	}

	return out, nil
}

func (c Config) provider(site oauth.Site, name string) (*oauth.Provider, error) {
	switch name {
	case "google":
		return oauth.Google(site, oauth.Credentials{ID: c.GoogleClientID, Secret: c.GoogleClientSecret}), nil
	case "github":
		return oauth.GitHub(site, oauth.Credentials{ID: c.GitHubClientID, Secret: c.GitHubClientSecret}), nil
	case "microsoft":
		return oauth.Microsoft(site, oauth.Credentials{ID: c.MicrosoftClientID, Secret: c.MicrosoftClientSecret}), nil
	case "facebook":
		return oauth.Facebook(site, oauth.Credentials{ID: c.FacebookClientID, Secret: c.FacebookClientSecret}), nil
	case "x":
		return oauth.X(site, oauth.Credentials{ID: c.XClientID, Secret: c.XClientSecret}), nil
	case providerApple:
		p, err := oauth.Apple(site, c.AppleClientID, oauth.AppleKey{TeamID: c.AppleTeamID, KeyID: c.AppleKeyID, PrivateKey: c.ApplePrivateKey})
		if err != nil {
			return nil, fmt.Errorf("AUTH_OAUTH_APPLE_PRIVATE_KEY: %w", err)
		}

		return p, nil
	default:
		return oauth.OIDC(site, name, entry(c.OIDCIssuers, name), oauth.Credentials{
			ID: entry(c.OIDCClientIDs, name), Secret: entry(c.OIDCClientSecrets, name),
		}), nil
	}
}

// providerNames lists the enabled providers, sorted.
func (s *Service) providerNames() []string {
	names := make([]string, 0, len(s.providers))
	for name := range s.providers {
		names = append(names, name)
	}

	slices.Sort(names)

	return names
}
