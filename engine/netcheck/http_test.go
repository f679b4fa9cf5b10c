package netcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// healthServer answers /health with status and body, /redirect/N with a
// chain of N redirects ending at /health, /loop with an endless chain.
func healthServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	mux.HandleFunc("/redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		next := "/health"
		if n > 1 {
			next = fmt.Sprintf("/redirect/%d", n-1)
		}
		http.Redirect(w, r, next, http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPPasses(t *testing.T) {
	srv := healthServer(t, 200, `{"status":"ok","version":"1.25.3"}`)
	for _, c := range []HTTP{
		{URL: srv.URL + "/health"},
		{URL: srv.URL + "/health", Status: 200},
		{URL: srv.URL + "/health", BodyContains: `"version":"1.25.3"`},
	} {
		if err := c.Check(ctxFor(t, 5*time.Second), nil); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestHTTPStatusMismatch(t *testing.T) {
	srv := healthServer(t, 503, "upstream down")
	err := HTTP{URL: srv.URL + "/health", Status: 200}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "GET "+srv.URL+"/health: status 503, want 200")

	err = HTTP{URL: srv.URL + "/health"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "GET "+srv.URL+"/health: status 503, want 2xx")

	ok := healthServer(t, 204, "")
	err = HTTP{URL: ok.URL + "/health", Status: 200}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "GET "+ok.URL+"/health: status 204, want 200")
}

func TestHTTPBodyMismatch(t *testing.T) {
	srv := healthServer(t, 200, `{"status":"degraded","version":"1.24.0"}`)
	err := HTTP{URL: srv.URL + "/health", BodyContains: "1.25.3"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, `GET `+srv.URL+`/health: body does not contain "1.25.3" `+
		`(first 80 bytes: "{\"status\":\"degraded\",\"version\":\"1.24.0\"}")`)

	long := healthServer(t, 200, strings.Repeat("x", 100)+"\xff")
	err = HTTP{URL: long.URL + "/health", BodyContains: "ok"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErrContains(t, err, `(first 80 bytes: "`+strings.Repeat("x", 80)+`…")`)
}

// TestHTTPBodyCap shows that only the first MaxBody bytes are read: a
// needle past them is not found, and the message says why.
func TestHTTPBodyCap(t *testing.T) {
	srv := healthServer(t, 200, strings.Repeat(".", MaxBody)+"ok")
	err := HTTP{URL: srv.URL + "/health", BodyContains: "ok"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErrContains(t, err, `body (first 1 MiB) does not contain "ok"`)

	err = HTTP{URL: srv.URL + "/health", BodyContains: "..."}.Check(ctxFor(t, 5*time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestHTTPRedirects(t *testing.T) {
	srv := healthServer(t, 200, "ok")
	for n := 1; n <= MaxRedirects; n++ {
		c := HTTP{URL: fmt.Sprintf("%s/redirect/%d", srv.URL, n), BodyContains: "ok"}
		if err := c.Check(ctxFor(t, 5*time.Second), nil); err != nil {
			t.Fatalf("%d redirects: %v", n, err)
		}
	}
	err := HTTP{URL: fmt.Sprintf("%s/redirect/%d", srv.URL, MaxRedirects+1)}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, fmt.Sprintf("GET %s/redirect/%d: stopped after 5 redirects", srv.URL, MaxRedirects+1))

	err = HTTP{URL: srv.URL + "/loop"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "GET "+srv.URL+"/loop: stopped after 5 redirects")

	// A failure after a redirect names where the answer came from.
	down := healthServer(t, 500, "")
	err = HTTP{URL: down.URL + "/redirect/1"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "GET "+down.URL+"/redirect/1 (redirected to "+down.URL+"/health): status 500, want 2xx")
}

// TestHTTPSlowServer: a server that never answers is given up on at the
// context's deadline, not later, and the error says it was a timeout.
func TestHTTPSlowServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	start := time.Now()
	err := HTTP{URL: srv.URL + "/health"}.Check(ctxFor(t, 300*time.Millisecond), nil)
	wantTimeout(t, err, "GET "+srv.URL+"/health: ", 300*time.Millisecond)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("check took %v with a 300ms deadline", d)
	}
}

// TestHTTPSlowBody: headers arrive, then the body stalls; the deadline
// still ends the check.
func TestHTTPSlowBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	err := HTTP{URL: srv.URL + "/", BodyContains: "ok"}.Check(ctxFor(t, 300*time.Millisecond), nil)
	wantTimeout(t, err, "GET "+srv.URL+"/: reading body: ", 300*time.Millisecond)

	// Without BodyContains the body is not waited for.
	if err := (HTTP{URL: srv.URL + "/"}).Check(ctxFor(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := HTTP{URL: srv.URL}.Check(ctx, nil)
	wantErr(t, err, "GET "+srv.URL+": canceled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, Canceled) = false", err)
	}

	// The engine's reason for stopping, when it gives one, is shown and kept.
	abort := errors.New("rollout aborted")
	ctx, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(abort)
	err = HTTP{URL: srv.URL}.Check(ctx, nil)
	wantErr(t, err, "GET "+srv.URL+": canceled: rollout aborted")
	if !errors.Is(err, abort) || !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, abort or Canceled) = false", err)
	}
}

// TestHTTPSelfSignedTLS: certificates are verified; a self-signed one fails.
func TestHTTPSelfSignedTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	err := HTTP{URL: srv.URL + "/health"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErrContains(t, err, "GET "+srv.URL+"/health: ", "certificate")
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("error %v is not a certificate verification error", err)
	}
}

func TestHTTPRefused(t *testing.T) {
	addr := closedPort(t)
	err := HTTP{URL: "http://" + addr + "/health"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "GET http://"+addr+"/health: connection refused")
}

// TestHTTPRedactsCredentials: user:password@ is sent as basic auth and
// never appears in an error, whatever the failure.
func TestHTTPRedactsCredentials(t *testing.T) {
	gotAuth := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		gotAuth <- user + ":" + pass
		w.WriteHeader(500)
	}))
	t.Cleanup(srv.Close)
	withCreds := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1)
	err := HTTP{URL: withCreds + "/health"}.Check(ctxFor(t, 5*time.Second), nil)
	wantErr(t, err, "GET http://***@"+strings.TrimPrefix(srv.URL, "http://")+"/health: status 500, want 2xx")
	if got := <-gotAuth; got != "alice:s3cret" {
		t.Errorf("server saw basic auth %q", got)
	}

	for _, u := range []string{
		"http://alice:s3cret@" + closedPort(t) + "/",           // refused
		"http://alice:s3cret@127.0.0.1:notaport/",              // does not parse
		"http://alice:s3cret@[::1/",                            // does not parse
		"ftp://alice:s3cret@127.0.0.1/",                        // wrong scheme
		"http://alice:s3cret@no-such-host.invalid/",            // no such host
		"https://alice:s3cret@" + srv.Listener.Addr().String(), // TLS to plain HTTP
	} {
		err := HTTP{URL: u}.Check(ctxFor(t, 5*time.Second), nil)
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "alice") {
			t.Errorf("%s: error %v", u, err)
		}
	}
}

// TestHTTPDialFunc: every connection goes through the DialFunc, as the
// SSH direct-tcpip path needs, with the URL's host:port as the address.
func TestHTTPDialFunc(t *testing.T) {
	host := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host <- r.Host
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	d := newRedirectDial(srv.Listener.Addr().String())
	err := HTTP{URL: "http://web-1.internal:8080/health", BodyContains: "ok"}.Check(ctxFor(t, 5*time.Second), d.dial)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-d.asked; got != "tcp web-1.internal:8080" {
		t.Errorf("dial asked for %q", got)
	}
	if got := <-host; got != "web-1.internal:8080" {
		t.Errorf("server saw Host %q", got)
	}
}

// TestHTTPClosesConnection: the check keeps no connection open after it.
func TestHTTPClosesConnection(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	if err := (HTTP{URL: srv.URL}).Check(ctxFor(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's connection was still open 5s after the check")
	}
}
