// Package views holds the templ components: the layout, the shared fragments
// that pages compose and htmx swaps, and one file per page. Views take typed
// view structs, never maps or database handles.
package views

// Page is what every full page needs from the shell.
type Page struct {
	Title     string
	Nav       string    // active nav key: "overview","deliveries","orders","search","endpoints","audit","users","tokens"
	User      *UserView // nil when logged out
	CSRFToken string
	Flashes   []Flash
	BaseURL   string
}

// UserView is the signed-in user as the shell shows it.
type UserView struct {
	Email, Role, Merchant string // Role: admin|operator|support
	IsAdmin, CanOperate   bool
}

// Flash is a one-off message shown above the page body.
type Flash struct {
	Kind, Message string // Kind: success|error|info
}

// Flash kinds.
const (
	FlashSuccess = "success"
	FlashError   = "error"
	FlashInfo    = "info"
)

// Nav keys for Page.Nav.
const (
	NavOverview   = "overview"
	NavDeliveries = "deliveries"
	NavOrders     = "orders"
	NavSearch     = "search"
	NavEndpoints  = "endpoints"
	NavAudit      = "audit"
	NavUsers      = "users"
	NavTokens     = "tokens"
)

// Pager links a newest-first list to its neighbours: PrevURL to newer items,
// NextURL to older ones. An empty URL hides its link.
type Pager struct {
	PrevURL, NextURL string
}

// Stat is one figure on a stat card; URL, when set, makes the card a link.
type Stat struct {
	Label, Value, Hint string
	URL                string
}

// LoginView is the login form's state: the typed email survives a failed attempt.
type LoginView struct {
	Email, Next, Error string
}
