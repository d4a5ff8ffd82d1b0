package vaulttest

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// kvMount is the KV version 2 mount the fake serves, as a dev server does.
const kvMount = "/v1/secret/"

// fake answers the part of Vault's HTTP API the platform and its tests
// use, as Vault 1.21 answers it: the health endpoint, and reads, writes
// and deletes of KV version 2 secrets at secret/ (GET, PUT and DELETE on
// data/<path>, with ?version=; DELETE on metadata/<path>), with the
// X-Vault-Token check (403 "permission denied"), 404 for a missing secret,
// and for a deleted version a 404 whose body still carries its metadata.
type fake struct {
	token string

	mu      sync.Mutex
	secrets map[string][]*version // by path; version n at index n-1
}

// version is one version of a secret.
type version struct {
	data    map[string]any // nil once deleted
	created time.Time
	deleted time.Time
}

// startFake serves a fake Vault until the test ends and returns its
// address and root token.
func startFake(t testing.TB) (addr, token string) {
	t.Helper()

	f := &fake{token: "fake-root-" + strings.ToLower(rand.Text()[:8]), secrets: map[string][]*version{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)

	return srv.URL, f.token
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v1/sys/health":
		reply(w, http.StatusOK, map[string]any{"initialized": true, "sealed": false, "standby": false})
	case r.Header.Get("X-Vault-Token") != f.token:
		replyErrors(w, http.StatusForbidden, "permission denied")
	default:
		f.mu.Lock()
		defer f.mu.Unlock()

		f.kv(w, r)
	}
}

// kv serves the KV version 2 engine at secret/.
func (f *fake) kv(w http.ResponseWriter, r *http.Request) {
	routes := map[string]func(http.ResponseWriter, *http.Request, string){
		"GET data": f.read, "PUT data": f.write, "POST data": f.write,
		"DELETE data": f.deleteLatest, "DELETE metadata": f.deleteAll,
	}

	rest, ok := strings.CutPrefix(r.URL.Path, kvMount)
	kind, path, _ := strings.Cut(rest, "/")
	route, known := routes[r.Method+" "+kind]

	if !ok || !known || path == "" {
		replyErrors(w, http.StatusNotFound, "no handler for route "+strconv.Quote(r.URL.Path))

		return
	}

	route(w, r, path)
}

func (f *fake) read(w http.ResponseWriter, r *http.Request, path string) {
	versions := f.secrets[path]
	n := len(versions)

	if q := r.URL.Query().Get("version"); q != "" && q != "0" {
		n, _ = strconv.Atoi(q)
	}

	if n < 1 || n > len(versions) {
		replyErrors(w, http.StatusNotFound)

		return
	}

	v := versions[n-1]
	status := http.StatusOK

	if v.data == nil {
		status = http.StatusNotFound
	}

	reply(w, status, envelope(map[string]any{"data": v.data, "metadata": v.metadata(n)}))
}

func (f *fake) write(w http.ResponseWriter, r *http.Request, path string) {
	var body struct {
		Data map[string]any `json:"data"`
	}

	dec := json.NewDecoder(r.Body)
	dec.UseNumber()

	if err := dec.Decode(&body); err != nil || body.Data == nil {
		replyErrors(w, http.StatusBadRequest, "no data provided")

		return
	}

	f.secrets[path] = append(f.secrets[path], &version{data: body.Data, created: time.Now().UTC()})
	n := len(f.secrets[path])
	reply(w, http.StatusOK, envelope(f.secrets[path][n-1].metadata(n)))
}

// deleteAll deletes every version and the metadata (vault kv
// metadata delete).
func (f *fake) deleteAll(w http.ResponseWriter, _ *http.Request, path string) {
	delete(f.secrets, path)
	w.WriteHeader(http.StatusNoContent)
}

// deleteLatest soft-deletes the latest version (vault kv delete).
func (f *fake) deleteLatest(w http.ResponseWriter, _ *http.Request, path string) {
	if versions := f.secrets[path]; len(versions) > 0 {
		latest := versions[len(versions)-1]
		latest.data, latest.deleted = nil, time.Now().UTC()
	}

	w.WriteHeader(http.StatusNoContent)
}

func (v *version) metadata(n int) map[string]any {
	deleted := ""
	if !v.deleted.IsZero() {
		deleted = v.deleted.Format(time.RFC3339Nano)
	}

	return map[string]any{
		"created_time": v.created.Format(time.RFC3339Nano), "custom_metadata": nil,
		"deletion_time": deleted, "destroyed": false, "version": n,
	}
}

// envelope wraps data as Vault wraps every response.
func envelope(data any) map[string]any {
	return map[string]any{
		"request_id": rand.Text(), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": data, "wrap_info": nil, "warnings": nil, "mount_type": "kv",
	}
}

// replyErrors answers as Vault answers a failure: {"errors": [...]}, an
// empty list for a plain 404.
func replyErrors(w http.ResponseWriter, status int, errs ...string) {
	if errs == nil {
		errs = []string{}
	}

	reply(w, status, map[string]any{"errors": errs})
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
