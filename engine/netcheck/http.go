package netcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTP is a check that passes when a GET of URL answers Status (any 2xx
// when Status is zero) and, when BodyContains is set, a body containing it.
type HTTP struct {
	// URL is the expanded URL; http or https. Userinfo is sent as basic
	// auth and never shown in errors.
	URL string
	// Status is the status code wanted; 0 means any 2xx.
	Status int
	// BodyContains, when set, must appear in the first MaxBody bytes of the body.
	BodyContains string
}

// MaxBody is how much of an HTTP check's body is read and searched: enough
// for any health page, little enough that a runaway endpoint costs nothing.
const MaxBody = 1 << 20

// MaxRedirects is how many redirects an HTTP check (or a Prometheus query)
// follows before failing: enough for http→https and a login-free hop or
// two, few enough that a redirect loop fails fast and says so.
const MaxRedirects = 5

// Check runs the GET through dial and reports the first way the answer
// differs from what the check wants.
func (c HTTP) Check(ctx context.Context, dial DialFunc) error {
	var limit int64
	if c.BodyContains != "" {
		limit = MaxBody
	}
	resp, err := get(ctx, dial, c.URL, "", limit, "")
	if resp.status == 0 {
		return err // no answer at all
	}
	// A wrong status is the clearer failure even when the body then
	// could not be read.
	where := "GET " + resp.where()
	if c.Status == 0 && (resp.status < 200 || resp.status > 299) {
		return fmt.Errorf("%s: status %d, want 2xx", where, resp.status)
	}
	if c.Status != 0 && resp.status != c.Status {
		return fmt.Errorf("%s: status %d, want %d", where, resp.status, c.Status)
	}
	if err != nil {
		return err
	}
	if c.BodyContains != "" && !strings.Contains(string(resp.body), c.BodyContains) {
		what := "body"
		if resp.truncated {
			what = fmt.Sprintf("body (first %d MiB)", MaxBody>>20)
		}
		return fmt.Errorf("%s: %s does not contain %q (first 80 bytes: %s)",
			where, what, c.BodyContains, quoted(string(resp.body), 80))
	}
	return nil
}

// response is what get read: the final status, up to limit bytes of body,
// and where the request ended after redirects.
type response struct {
	url       string // the URL asked for, redacted
	final     string // the URL that answered, redacted; empty when not redirected
	status    int
	body      []byte
	truncated bool // the body was longer than the limit
}

// where names the URL for messages, with the redirect target when there was one.
func (r response) where() string {
	if r.final == "" {
		return r.url
	}
	return r.url + " (redirected to " + r.final + ")"
}

// errTooManyRedirects stops the client after MaxRedirects.
var errTooManyRedirects = fmt.Errorf("more than %d redirects", MaxRedirects)

// get performs one GET of rawURL through dial on a transport of its own
// that keeps no connection, reads at most limit bytes of the body and
// returns errors as "GET <show>: <plain cause>", show being rawURL without
// its credentials when empty. The body is read only when
// limit > 0; when reading it fails, the status is still returned with the
// error. accept, when set, is sent as the Accept header.
func get(ctx context.Context, dial DialFunc, rawURL, show string, limit int64, accept string) (response, error) {
	if show == "" {
		show = redact(rawURL)
	}
	resp := response{url: show}
	u, err := parseHTTPURL(rawURL)
	if err != nil {
		return resp, fmt.Errorf("GET %s: %v", resp.url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return resp, fmt.Errorf("GET %s: %v", resp.url, err)
	}
	req.Header.Set("User-Agent", "rollout-netcheck")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}

	tr := &http.Transport{
		// The engine chose the path (console or host); an environment
		// proxy would silently change it, so none is used.
		Proxy:             nil,
		DialContext:       orDefault(dial),
		DisableKeepAlives: true,
		// TLSClientConfig nil: the system roots, the URL's host name.
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return errTooManyRedirects
			}
			return nil
		},
	}

	start := time.Now()
	r, err := client.Do(req)
	if err != nil {
		if errors.Is(err, errTooManyRedirects) {
			return resp, fmt.Errorf("GET %s: stopped after %d redirects", resp.url, MaxRedirects)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, with the user name
		}
		return resp, fmt.Errorf("GET %s: %w", resp.url, reason(ctx, start, err))
	}
	defer r.Body.Close()
	resp.status = r.StatusCode
	if r.Request.URL.String() != u.String() {
		resp.final = redact(r.Request.URL.String())
	}
	if limit <= 0 {
		return resp, nil
	}
	resp.body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return resp, fmt.Errorf("GET %s: reading body: %w", resp.where(), reason(ctx, start, err))
	}
	if int64(len(resp.body)) > limit {
		resp.body, resp.truncated = resp.body[:limit], true
	}
	return resp, nil
}

// parseHTTPURL parses an http or https URL with a host, with errors that
// neither repeat the URL (and its credentials) nor speak Go's URL jargon.
func parseHTTPURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, errors.New("bad URL: no scheme, want http://… or https://…")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, credentials and all
		}
		return nil, fmt.Errorf("bad URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad URL: scheme %s, want http or https", quoted(u.Scheme, 20))
	}
	if u.Host == "" {
		return nil, errors.New("bad URL: no host")
	}
	return u, nil
}
