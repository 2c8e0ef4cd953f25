package handlers

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"hooklog/views"
)

// isFragmentRequest is true for an htmx request that wants only a fragment: not boosted (which swaps
// the whole body) and not a history restore (which needs the whole page).
func isFragmentRequest(c echo.Context) bool {
	h := c.Request().Header
	return h.Get(HeaderHXRequest) == "true" && h.Get(HeaderHXBoosted) != "true" && h.Get(HeaderHXHistoryRestore) != "true"
}

// render is the one place that decides full page or fragment. It renders into a buffer first, so a
// render error becomes a clean 500 rather than half a page, and it varies the cache on HX-Request.
// fragment may be nil for pages that have no fragment form.
func render(c echo.Context, status int, page, fragment templ.Component) error {
	c.Response().Header().Add("Vary", HeaderHXRequest)
	comp := page
	if fragment != nil && isFragmentRequest(c) {
		comp = fragment
	}
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return fmt.Errorf("render %s: %w", c.Path(), err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// renderPage renders body inside the layout (or only body for a fragment request).
func (s *Sessions) renderPage(c echo.Context, status int, title, nav string, body templ.Component) error {
	p := s.page(c, title, nav)
	return render(c, status, views.Layout(p, body), body)
}

// redirect sends the browser to url after a form post: a 303 for plain forms, and HX-Redirect for
// htmx requests so that htmx navigates instead of swapping the target page into a fragment.
func redirect(c echo.Context, url string) error {
	if c.Request().Header.Get(HeaderHXRequest) == "true" {
		c.Response().Header().Set(HeaderHXRedirect, url)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, url)
}
