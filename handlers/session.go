package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

const (
	sessionCookie = "hooklog_session"
	sessionKey    = "hooklog.session"
	userKey       = "hooklog.user"
	csrfField     = "csrf_token"
)

func init() {
	// Flashes travel in the session cookie, which gob-encodes its values.
	gob.Register(views.Flash{})
}

// Sessions owns dashboard logins: the signed and encrypted session cookie, expiry, revocation,
// throttling and CSRF. Every instance sharing the secret key accepts the same cookies.
type Sessions struct {
	Store         *models.Store
	Cookies       *sessions.CookieStore
	Idle          time.Duration
	Absolute      time.Duration
	MaxFailures   int
	LockoutWindow time.Duration
	BaseURL       string
	Log           *slog.Logger
}

// NewCookieStore builds the session cookie store from the master key: HttpOnly, SameSite=Lax, and
// Secure when the base URL is https.
func NewCookieStore(master []byte, baseURL string, absolute time.Duration) *sessions.CookieStore {
	cs := sessions.NewCookieStore(models.DeriveKey(master, "session-auth"), models.DeriveKey(master, "session-encrypt"))
	cs.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(absolute.Seconds()),
		HttpOnly: true,
		Secure:   strings.HasPrefix(baseURL, "https://"),
		SameSite: http.SameSiteLaxMode,
	}
	cs.MaxAge(int(absolute.Seconds()))
	return cs
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// session returns the request's session, decoding the cookie once per request. A cookie that does
// not decode (expired key, tampering) yields a fresh empty session.
func (s *Sessions) session(c echo.Context) *sessions.Session {
	if sess, ok := c.Get(sessionKey).(*sessions.Session); ok {
		return sess
	}
	sess, err := s.Cookies.Get(c.Request(), sessionCookie)
	if err != nil {
		sess, _ = s.Cookies.New(c.Request(), sessionCookie)
	}
	c.Set(sessionKey, sess)
	return sess
}

func (s *Sessions) save(c echo.Context) error {
	if err := s.session(c).Save(c.Request(), c.Response()); err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	return nil
}

// csrfToken returns the session's CSRF token, creating it (and saving the cookie) when missing.
func (s *Sessions) csrfToken(c echo.Context) string {
	sess := s.session(c)
	if t, ok := sess.Values["csrf"].(string); ok && t != "" {
		return t
	}
	t := randomToken()
	sess.Values["csrf"] = t
	if err := s.save(c); err != nil {
		s.Log.Error("session: save csrf token", "err", err)
	}
	return t
}

// Load reads the session and, when it belongs to a live user within its idle and absolute limits,
// makes that user the request's principal. A deactivated user, or one whose sessions were revoked,
// stops here at once because the stored session version no longer matches.
func (s *Sessions) Load(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess := s.session(c)
		uid, ok := sess.Values["uid"].(uint)
		if !ok || uid == 0 {
			return next(c)
		}
		now := s.Store.Now()
		created, _ := sess.Values["created"].(int64)
		seen, _ := sess.Values["seen"].(int64)
		ver, _ := sess.Values["ver"].(int)
		expired := now.Sub(time.Unix(created, 0)) > s.Absolute || now.Sub(time.Unix(seen, 0)) > s.Idle
		u, err := s.Store.User(uid)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("session: load user %d: %w", uid, err)
		}
		if expired || err != nil || !u.Active || u.SessionVersion != ver {
			s.clear(sess)
			if err := s.save(c); err != nil {
				return err
			}
			return next(c)
		}
		if now.Sub(time.Unix(seen, 0)) > time.Minute {
			sess.Values["seen"] = now.Unix()
			if err := s.save(c); err != nil {
				return err
			}
		}
		c.Set(userKey, u)
		setPrincipal(c, &Principal{MerchantID: u.MerchantID, MerchantName: u.Merchant.Name, UserID: u.ID, Email: u.Email, Role: u.Role, Actor: u.Email})
		return next(c)
	}
}

// clear empties a session but keeps nothing that identified the old login.
func (s *Sessions) clear(sess *sessions.Session) {
	for k := range sess.Values {
		delete(sess.Values, k)
	}
}

// RequireLogin sends visitors without a session to /login, remembering where they were going.
func (s *Sessions) RequireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if principal(c).UserID != 0 {
			// A signed-in page must not come back from the browser's cache after logout (Back button).
			c.Response().Header().Set("Cache-Control", "no-store")
			return next(c)
		}
		target := "/login"
		if r := c.Request(); r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		return redirect(c, target)
	}
}

// CSRF rejects state-changing requests whose token (form field csrf_token, or the X-CSRF-Token header
// htmx sends) does not match the session's.
func (s *Sessions) CSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		want, _ := s.session(c).Values["csrf"].(string)
		got := c.Request().Header.Get(HeaderCSRF)
		if got == "" {
			got = c.FormValue(csrfField)
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return echo.NewHTTPError(http.StatusForbidden, "This form has expired. Reload the page and try again.")
		}
		return next(c)
	}
}

// Flash queues a message for the next page the user sees.
func (s *Sessions) Flash(c echo.Context, kind, message string) {
	s.session(c).AddFlash(views.Flash{Kind: kind, Message: message})
	if err := s.save(c); err != nil {
		s.Log.Error("session: save flash", "err", err)
	}
}

// page builds the layout's view of the request: user, CSRF token and pending flashes.
func (s *Sessions) page(c echo.Context, title, nav string) views.Page {
	p := views.Page{Title: title, Nav: nav, CSRFToken: s.csrfToken(c), BaseURL: s.BaseURL}
	if pr := principal(c); pr.UserID != 0 {
		p.User = &views.UserView{Email: pr.Email, Role: string(pr.Role), Merchant: pr.MerchantName,
			IsAdmin: pr.Role.IsAdmin(), CanOperate: pr.Role.CanOperate()}
	}
	sess := s.session(c)
	if fs := sess.Flashes(); len(fs) > 0 {
		for _, f := range fs {
			if fl, ok := f.(views.Flash); ok {
				p.Flashes = append(p.Flashes, fl)
			}
		}
		if err := s.save(c); err != nil {
			s.Log.Error("session: save after flashes", "err", err)
		}
	}
	return p
}

// ErrorPage renders the dashboard's error pages (403, 404, 500, ...).
func (s *Sessions) ErrorPage(c echo.Context, code int, message string) error {
	p := s.page(c, "", "")
	if isFragmentRequest(c) {
		// htmx does not swap error responses; app.js shows this message in #flashes instead.
		return render(c, code, views.FlashesOOB([]views.Flash{{Kind: views.FlashError, Message: publicMessage(code, message)}}), nil)
	}
	return render(c, code, views.ErrorPage(p, code, "", publicMessage(code, message)), nil)
}

// publicMessage hides the text of server errors.
func publicMessage(code int, message string) string {
	if code >= 500 {
		return ""
	}
	return message
}

// LoginForm handles GET /login.
func (s *Sessions) LoginForm(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if principal(c).UserID != 0 {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return s.renderLogin(c, http.StatusOK, views.LoginView{Next: next})
}

func (s *Sessions) renderLogin(c echo.Context, status int, v views.LoginView) error {
	p := s.page(c, "Sign in", "")
	return render(c, status, views.LoginPage(p, v), nil)
}

// Login handles POST /login (form fields email, password): throttled per email, a brand-new session
// on success (so a session id planted before login is worthless), and back to where the user was going.
func (s *Sessions) Login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	v := views.LoginView{Email: email, Next: next}
	if email == "" || password == "" {
		v.Error = "Enter your email and password."
		return s.renderLogin(c, http.StatusUnprocessableEntity, v)
	}
	wait, err := s.Store.LoginLockedFor(email, s.MaxFailures, s.LockoutWindow)
	if err != nil {
		return err
	}
	if wait > 0 {
		v.Error = fmt.Sprintf("Too many failed attempts. Try again in %s.", wait.Round(time.Minute).String())
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		return s.renderLogin(c, http.StatusTooManyRequests, v)
	}
	u, err := s.Store.Authenticate(email, password)
	if errors.Is(err, models.ErrBadCredentials) {
		if err := s.Store.RecordLoginFailure(email); err != nil {
			return err
		}
		if known, lerr := s.Store.UserByEmail(email); lerr == nil {
			_ = s.Store.Audit(models.AuditEntry{MerchantID: known.MerchantID, Actor: known.Email, Action: models.AuditLoginFailed,
				ObjectType: "user", ObjectID: fmt.Sprint(known.ID), RemoteAddr: c.RealIP()})
		}
		v.Error = "That email and password don't match an active account."
		return s.renderLogin(c, http.StatusUnauthorized, v)
	}
	if err != nil {
		return err
	}
	if err := s.Store.ClearLoginFailures(email); err != nil {
		return err
	}
	sess := s.session(c)
	s.clear(sess)
	now := s.Store.Now().Unix()
	sess.Values["sid"] = randomToken()
	sess.Values["uid"] = u.ID
	sess.Values["ver"] = u.SessionVersion
	sess.Values["created"] = now
	sess.Values["seen"] = now
	sess.Values["csrf"] = randomToken()
	if err := s.save(c); err != nil {
		return err
	}
	if err := s.Store.Audit(models.AuditEntry{MerchantID: u.MerchantID, Actor: u.Email, Action: models.AuditLogin,
		ObjectType: "user", ObjectID: fmt.Sprint(u.ID), RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// Logout handles POST /logout.
func (s *Sessions) Logout(c echo.Context) error {
	p := principal(c)
	sess := s.session(c)
	s.clear(sess)
	sess.Options.MaxAge = -1
	if err := s.save(c); err != nil {
		return err
	}
	if p.UserID != 0 {
		if err := s.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditLogout,
			ObjectType: "user", ObjectID: fmt.Sprint(p.UserID), RemoteAddr: c.RealIP()}); err != nil {
			return err
		}
	}
	return redirect(c, "/login")
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}
