// Package static embeds the browser assets (the stylesheet, the script and the
// vendored htmx build) and serves them under /static/ with content-hashed URLs,
// so a browser may cache each version for a year.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed app.css app.js vendor
var files embed.FS

// HTMX is the asset name of the vendored htmx build; the name carries its pinned version.
const HTMX = "vendor/htmx-2.0.11.min.js"

// Prefix is the URL path under which Handler serves the assets.
const Prefix = "/static/"

// immutable is sent for a URL whose ?v= matches the current content hash.
const immutable = "public, max-age=31536000, immutable"

type asset struct {
	body        []byte
	hash        string // first 10 hex digits of the SHA-256 of body
	contentType string
}

// assets is built once when the program starts, so Path and Handler only look up a map.
var assets = load()

func load() map[string]asset {
	m := map[string]asset{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		m[name] = asset{body: body, hash: hex.EncodeToString(sum[:])[:10], contentType: contentType(name)}
		return nil
	})
	if err != nil {
		// The files are compiled into the binary, so this can only be a build defect.
		panic(fmt.Sprintf("static: read embedded assets: %v", err))
	}
	return m
}

var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".txt":   "text/plain; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
}

func contentType(name string) string {
	ext := path.Ext(name)
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// Path returns the URL of the named asset with its content hash, such as
// "/static/app.css?v=0123456789". An unknown name is a programming error and panics,
// so a typo fails the first test that renders the page.
func Path(name string) string {
	a, ok := assets[name]
	if !ok {
		panic(fmt.Sprintf("static: no asset named %q", name))
	}
	return Prefix + name + "?v=" + a.hash
}

// Handler serves the assets at their full request path (/static/NAME). A request
// whose ?v= matches the content hash may be cached forever; any other request is
// revalidated with the ETag, so an old or hand-typed URL still works.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	a, found := assets[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", immutable)
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	// The embedded files have no modification time; ServeContent still answers
	// If-None-Match and Range requests from the ETag.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
