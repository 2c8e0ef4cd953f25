package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// access is who may use a route.
type access int

const (
	public    access = iota // anyone (health, static, login)
	ingest                  // providers: the endpoint token is the credential
	apiRead                 // API token of any role
	apiOp                   // API token of operator or admin
	dashRead                // any logged-in user
	dashOp                  // logged-in operator or admin
	dashAdmin               // logged-in admin
)

// routeMatrix lists every route the server has. TestAuthzMatrix fails when a route is added without
// an entry here, so no route can ship without a decision about who may use it.
var routeMatrix = map[string]access{
	"POST /in/:token":                         ingest,
	"GET /healthz":                            public,
	"GET /readyz":                             public,
	"GET /static/*":                           public,
	"GET /login":                              public,
	"POST /login":                             public,
	"POST /logout":                            public,
	"GET /api/v1/events":                      apiRead,
	"GET /api/v1/events/:id":                  apiRead,
	"POST /api/v1/events/:id/replay":          apiOp,
	"POST /api/v1/events/:id/mark":            apiOp,
	"GET /api/v1/deliveries":                  apiRead,
	"GET /api/v1/orders/:reference":           apiRead,
	"GET /":                                   dashRead,
	"GET /deliveries":                         dashRead,
	"GET /deliveries.csv":                     dashRead,
	"GET /deliveries/:id":                     dashRead,
	"GET /events/:id":                         dashRead,
	"GET /events/:id/raw":                     dashRead,
	"GET /events/:id/evidence.json":           dashRead,
	"POST /events/:id/replay":                 dashOp,
	"POST /events/:id/mark":                   dashOp,
	"GET /replay-jobs":                        dashRead,
	"POST /replay-jobs/preview":               dashOp,
	"POST /replay-jobs":                       dashOp,
	"GET /replay-jobs/:id":                    dashRead,
	"POST /replay-jobs/:id/cancel":            dashOp,
	"GET /endpoints":                          dashAdmin,
	"GET /endpoints/new":                      dashAdmin,
	"POST /endpoints":                         dashAdmin,
	"GET /endpoints/:id":                      dashAdmin,
	"POST /endpoints/:id":                     dashAdmin,
	"POST /endpoints/:id/secrets/:sid/reveal": dashAdmin,
	"POST /endpoints/:id/rotate":              dashAdmin,
	"POST /endpoints/:id/enable":              dashAdmin,
	"POST /endpoints/:id/disable":             dashAdmin,
	"POST /endpoints/:id/test":                dashAdmin,
	"GET /endpoints/:id/deliveries":           dashAdmin,
	"GET /users":                              dashAdmin,
	"POST /users":                             dashAdmin,
	"POST /users/:id/role":                    dashAdmin,
	"POST /users/:id/deactivate":              dashAdmin,
	"POST /users/:id/activate":                dashAdmin,
	"GET /tokens":                             dashAdmin,
	"POST /tokens":                            dashAdmin,
	"POST /tokens/:id/revoke":                 dashAdmin,
	"GET /audit":                              dashAdmin,
	"GET /orders":                             dashRead,
	"GET /orders/:reference":                  dashRead,
	"GET /orders/:reference/evidence.json":    dashRead,
	"GET /search":                             dashRead,
	"GET /search.csv":                         dashRead,
}

// authzFixture is one merchant's objects, for filling in path parameters.
type authzFixture struct {
	endpoint, secret, event, delivery, user, token, job uint
	order, ingestToken                                  string
}

func authzObjects(t *testing.T, a *testapp.App, merchant string) authzFixture {
	t.Helper()
	ep := a.Endpoint(merchant, "generic", "", webhooks.Settings{})
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord-" + merchant})
	if r.Status != http.StatusOK {
		t.Fatalf("seed event for %s: %+v", merchant, r)
	}
	a.WaitStatus(r.EventID, models.StatusProcessed)
	secrets, err := a.Store.Secrets(ep.ID)
	if err != nil || len(secrets) == 0 {
		t.Fatalf("secrets: %v", err)
	}
	m := a.Merchant(merchant)
	victim, err := a.Store.CreateUser(m.ID, "victim-"+strings.ToLower(merchant)+"@authz.test", testapp.Password, models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.Store.CreateToken(m.ID, "victim", models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	job, err := a.Store.CreateReplayJob(m.ID, "authz", nil, []uint{r.EventID})
	if err != nil {
		t.Fatal(err)
	}
	return authzFixture{endpoint: ep.ID, secret: secrets[0].ID, event: r.EventID, delivery: r.DeliveryID, user: victim.ID,
		token: tok.ID, job: job.ID, order: "ord-" + merchant, ingestToken: ep.Token}
}

// path fills a route's parameters with f's objects.
func (f authzFixture) path(route string) string {
	id := f.event
	switch {
	case strings.HasPrefix(route, "/endpoints/"):
		id = f.endpoint
	case strings.HasPrefix(route, "/users/"):
		id = f.user
	case strings.HasPrefix(route, "/tokens/"):
		id = f.token
	case strings.HasPrefix(route, "/replay-jobs/"):
		id = f.job
	case strings.HasPrefix(route, "/deliveries/"):
		id = f.delivery
	}
	r := strings.NewReplacer(":id", fmt.Sprint(id), ":sid", fmt.Sprint(f.secret), ":reference", url.PathEscape(f.order),
		":token", f.ingestToken, "*", "app.css")
	if route == "/search.csv" {
		return route + "?q=payment" // an export needs a query
	}
	return r.Replace(route)
}

// TestAuthzMatrix walks every route as every role, as a visitor, and as a user of another merchant:
// forbidden requests answer 401/403 (or the login redirect), another merchant's objects answer 404, and
// allowed reads succeed. Allowed state changes are covered by each page's own tests.
func TestAuthzMatrix(t *testing.T) {
	a := testapp.New(t)
	mine := authzObjects(t, a, "Acme")
	authzObjects(t, a, "Other") // the outsider's own merchant has objects too, so lists are not trivially empty
	e := a.Server.Config.Handler.(*echo.Echo)

	var routes []string
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Method, "echo_") || r.Method == "echo_route_not_found" {
			continue
		}
		routes = append(routes, r.Method+" "+r.Path)
	}
	sort.Strings(routes)
	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r] {
			continue
		}
		seen[r] = true
		if _, ok := routeMatrix[r]; !ok {
			t.Errorf("route %q is not in the authorization matrix: decide who may use it", r)
		}
	}
	for r := range routeMatrix {
		if !seen[r] {
			t.Errorf("matrix entry %q names no route", r)
		}
	}

	roles := []models.Role{models.RoleAdmin, models.RoleOperator, models.RoleSupport}
	browsers := map[models.Role]*testapp.Browser{}
	tokens := map[models.Role]string{}
	for _, role := range roles {
		email := string(role) + "@acme.authz.test"
		a.User("Acme", email, role)
		browsers[role] = a.Login(email)
		tokens[role] = a.Token("Acme", role)
	}
	a.User("Other", "admin@other.authz.test", models.RoleAdmin)
	outsider := a.Login("admin@other.authz.test")
	outsiderToken := a.Token("Other", models.RoleAdmin)
	visitor := a.Browser()

	allowed := func(acc access, role models.Role) bool {
		switch acc {
		case apiOp, dashOp:
			return role.CanOperate()
		case dashAdmin:
			return role.IsAdmin()
		}
		return true
	}
	hasObject := func(route string) bool { return strings.Contains(route, ":") }

	for _, key := range routes {
		acc, ok := routeMatrix[key]
		if !ok || acc == public || acc == ingest {
			continue
		}
		method, route, _ := strings.Cut(key, " ")
		t.Run(key, func(t *testing.T) {
			path := mine.path(route)
			switch acc {
			case apiRead, apiOp:
				if code := a.API("", method, path, nil, nil); code != http.StatusUnauthorized {
					t.Errorf("without a token: %d, want 401", code)
				}
				for _, role := range roles {
					code := a.API(tokens[role], method, path, strings.NewReader(`{"mark":"resolved","note":"authz"}`), nil)
					switch {
					case !allowed(acc, role) && code != http.StatusForbidden:
						t.Errorf("%s token: %d, want 403", role, code)
					case allowed(acc, role) && (code == http.StatusForbidden || code == http.StatusNotFound || code == http.StatusUnauthorized):
						t.Errorf("%s token: %d, want it allowed", role, code)
					}
				}
				if hasObject(route) {
					if code := a.API(outsiderToken, method, path, strings.NewReader(`{"mark":"resolved"}`), nil); code != http.StatusNotFound {
						t.Errorf("another merchant's token: %d, want 404", code)
					}
				}
			default:
				resp := authzDo(visitor, method, path)
				if method == http.MethodGet && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login")) {
					t.Errorf("visitor: %d %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
				}
				if method == http.MethodPost && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusSeeOther {
					t.Errorf("visitor POST: %d, want 403 (no CSRF token) or the login redirect", resp.StatusCode)
				}
				for _, role := range roles {
					code := authzDo(browsers[role], method, path).StatusCode
					switch {
					case !allowed(acc, role) && code != http.StatusForbidden:
						t.Errorf("%s: %d, want 403", role, code)
					case allowed(acc, role) && method == http.MethodGet && code != http.StatusOK:
						t.Errorf("%s: %d, want 200", role, code)
					}
				}
				if hasObject(route) {
					// The outsider is an admin of its own merchant, so only the ownership check can refuse it.
					if code := authzDo(outsider, method, path).StatusCode; code != http.StatusNotFound {
						t.Errorf("another merchant's admin: %d, want 404", code)
					}
				}
			}
		})
	}
}

// authzDo sends a request as b. POSTs carry b's CSRF token and no fields: an allowed role may change
// the fixture (replay, rotate, revoke), which no later check depends on; a forbidden one must be
// refused before the handler runs.
func authzDo(b *testapp.Browser, method, path string) *http.Response {
	if method == http.MethodGet {
		resp, _ := b.Get(path)
		return resp
	}
	resp, _ := b.PostForm(path, url.Values{})
	return resp
}
