// Package e2e drives the real dashboard in headless Chromium: the flows a person clicks through.
package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hooklog/testapp"
)

// chromiumPath is Debian's Chromium; tools that download their own browser do not work here.
const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium tab on a test server, saving screenshots under artifacts/.
type browser struct {
	t   *testing.T
	app *testapp.App
	ctx context.Context
	dir string
}

// newBrowser starts Chromium with a fresh profile. A missing Chromium fails the test with the fix.
func newBrowser(t *testing.T, app *testapp.App) *browser {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("browser tests need Debian's chromium at %s: run .ci/run, or apt-get install -y chromium", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first run starts the browser; its context must not carry a timeout (it would stop the browser).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := filepath.Join("..", "artifacts", "screenshots", t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, app: app, ctx: ctx, dir: dir}
}

// stepTimeout bounds each step, so a missing element fails the test instead of hanging it.
const stepTimeout = 20 * time.Second

// run executes steps and fails the test with what was being done.
func (b *browser) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// shot saves a full-page screenshot as an artifact.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '-'
	}, s)
}

// login signs in through the real form.
func (b *browser) login(email string) {
	b.t.Helper()
	b.run("open login", chromedp.Navigate(b.app.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
	b.shot("login")
	b.run("submit login",
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testapp.Password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav`)),
	)
}

// text returns the visible text of the first element matching the CSS selector sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.shot("failed-read-" + slug(sel))
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}
