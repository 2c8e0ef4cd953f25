package static

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func TestPath(t *testing.T) {
	re := regexp.MustCompile(`^/static/app\.css\?v=[0-9a-f]{10}$`)
	p := Path("app.css")
	if !re.MatchString(p) {
		t.Fatalf("Path(app.css) = %q", p)
	}
	body, err := files.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if want := "/static/app.css?v=" + hex.EncodeToString(sum[:])[:10]; p != want {
		t.Errorf("Path = %q, want %q", p, want)
	}
	if Path("app.css") != p {
		t.Errorf("Path is not stable")
	}
	if !strings.HasPrefix(Path(HTMX), "/static/vendor/htmx-2.") {
		t.Errorf("Path(HTMX) = %q", Path(HTMX))
	}
	if Path("app.js") == Path("app.css") {
		t.Errorf("distinct assets share a URL")
	}
}

func TestPathUnknownPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Path of an unknown asset did not panic")
		}
	}()
	Path("nope.css")
}

func TestHandler(t *testing.T) {
	cases := []struct {
		name, target, wantType string
	}{
		{"css", Path("app.css"), "text/css; charset=utf-8"},
		{"js", Path("app.js"), "text/javascript; charset=utf-8"},
		{"htmx", Path(HTMX), "text/javascript; charset=utf-8"},
		{"license", Path("vendor/htmx-2.0.11.LICENSE.txt"), "text/plain; charset=utf-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := get(t, http.MethodGet, c.target, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != c.wantType {
				t.Errorf("Content-Type = %q, want %q", got, c.wantType)
			}
			if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			body, _ := io.ReadAll(res.Body)
			name := strings.TrimPrefix(strings.SplitN(c.target, "?", 2)[0], Prefix)
			want, _ := files.ReadFile(name)
			if string(body) != string(want) {
				t.Errorf("body differs from the embedded file")
			}
		})
	}
}

func TestHandlerStaleHashIsNotImmutable(t *testing.T) {
	for _, target := range []string{"/static/app.css", "/static/app.css?v=0000000000"} {
		res := get(t, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status = %d", target, res.StatusCode)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control = %q", target, got)
		}
	}
}

func TestHandlerConditionalAndHead(t *testing.T) {
	res := get(t, http.MethodGet, Path("app.js"), nil)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res = get(t, http.MethodGet, Path("app.js"), http.Header{"If-None-Match": {etag}})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status = %d", res.StatusCode)
	}
	res = get(t, http.MethodHead, Path("app.js"), nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") == "" {
		t.Errorf("HEAD: status = %d", res.StatusCode)
	}
}

func TestHandlerRejects(t *testing.T) {
	for _, c := range []struct {
		method, target string
		want           int
	}{
		{http.MethodGet, "/static/missing.css", http.StatusNotFound},
		{http.MethodGet, "/static/static.go", http.StatusNotFound},
		{http.MethodGet, "/static/../static/static.go", http.StatusNotFound},
		{http.MethodGet, "/static/vendor", http.StatusNotFound},
		{http.MethodGet, "/static/", http.StatusNotFound},
		{http.MethodGet, "/app.css", http.StatusNotFound},
		{http.MethodPost, Path("app.css"), http.StatusMethodNotAllowed},
	} {
		res := get(t, c.method, c.target, nil)
		if res.StatusCode != c.want {
			t.Errorf("%s %s: status = %d, want %d", c.method, c.target, res.StatusCode, c.want)
		}
	}
}
