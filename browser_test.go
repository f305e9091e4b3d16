package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium, headless, against a server
// started by run (embedded Redis, demo data, printed tokens). They skip only
// where no chromium exists and CI is unset; in CI a missing chromium fails.

// chromiumPath finds the browser: $AUTOCLAIM_CHROMIUM, else chromium on PATH.
func chromiumPath() string {
	if p := os.Getenv("AUTOCLAIM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a fresh headless chromium for the test (its own profile
// in a temporary directory) and returns its context; tabs open in it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium found (apt-get install -y chromium); CI must run the browser tests")
		}
		t.Skip("skipping browser test: no chromium found (apt-get install -y chromium, or set AUTOCLAIM_CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshotDir is where the tests write each screen's picture:
// $AUTOCLAIM_SCREENSHOTS, else a temporary directory the test logs.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AUTOCLAIM_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// tab is one browser tab of a test, with what the page did: every request's
// URL, and every uncaught exception or Content-Security-Policy violation.
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	name  string
	seen  *pageLog
}

// pageLog is what a tab's pages did, as the browser reported it.
type pageLog struct {
	mu       sync.Mutex
	requests []string
	problems []string
}

// at returns the tab for a subtest: failures go to t.
func (tb *tab) at(t *testing.T) *tab {
	c := *tb
	c.t = t
	return &c
}

// newTab opens a tab in the browser (in a browser context of its own: its
// own sessionStorage). It checks at the end of the test that the page loaded
// nothing from another host than the server's (or the otherHosts a test
// names: an identity provider's), threw nothing and broke no
// Content-Security-Policy rule.
func newTab(t *testing.T, browser context.Context, base, shots, name string, otherHosts ...string) *tab {
	t.Helper()
	tb := &tab{t: t, base: base, shots: shots, name: name, seen: &pageLog{}}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.seen.listen))
	tb.ctx = ctx
	// Reduced motion: the console then skips its animations, so each
	// screenshot shows the screen as it settles.
	reduced := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), reduced); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		tb.seen.mu.Lock()
		defer tb.seen.mu.Unlock()
		host := strings.TrimPrefix(base, "http://")
		for _, u := range tb.seen.requests {
			p, err := url.Parse(u)
			if err != nil || p.Scheme == "data" || p.Scheme == "about" || p.Scheme == "blob" {
				continue
			}
			if p.Host != host && !slices.Contains(otherHosts, p.Host) {
				t.Errorf("%s: the page requested %s, on another host than %s: it must work offline", name, u, host)
			}
		}
		for _, p := range tb.seen.problems {
			t.Errorf("%s: %s", name, p)
		}
	})
	return tb
}

func (tb *pageLog) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		tb.requests = append(tb.requests, e.Request.URL)
	case *network.EventWebSocketCreated:
		tb.requests = append(tb.requests, strings.Replace(e.URL, "ws", "http", 1))
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *log.EventEntryAdded:
		if strings.Contains(e.Entry.Text, "Content Security Policy") || strings.Contains(e.Entry.Text, "Content-Security-Policy") {
			tb.problems = append(tb.problems, "CSP violation: "+e.Entry.Text)
		}
	}
}

// do runs steps; a step that fails (or waits more than a minute for its
// condition) fails the test with a screenshot of the page.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.failShot()
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
}

// waitJS waits until the JavaScript expression is truthy. An expression
// that throws (an element it reads is not there yet, while a screen
// renders) is not true yet: a throw would end the polling, and the wait.
func (tb *tab) waitJS(expr string) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool]("(() => { try { return !!("+expr+"); } catch { return false; } })()", chromedp.WithPollingTimeout(0))(ctx, t)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", expr, err)
		}
		return nil
	}))
}

// eval evaluates a JavaScript expression (awaiting a promise) into out.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.failShot()
		tb.t.Fatalf("%s: evaluate %s: %v", tb.name, expr, err)
	}
	return v
}

// visit opens a path of the server (with a fragment, if any) and waits until
// the element sel is visible.
func (tb *tab) visit(path, sel string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// route changes the console's route (its hash) and waits for sel.
func (tb *tab) route(hash, sel string) {
	tb.t.Helper()
	tb.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf("location.hash = %q", hash)), chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// choose picks an option of a select as a user does, firing its change event.
func (tb *tab) choose(sel, value string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	eval[chromedp.Void](tb, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); el.value = %q;
		el.dispatchEvent(new Event("change", { bubbles: true })); })()`, sel, value))
}

// fill replaces a text field's value as typing does, firing input events.
func (tb *tab) fill(sel, value string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	eval[chromedp.Void](tb, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus();
		const set = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value").set; set.call(el, %q);
		el.dispatchEvent(new Event("input", { bubbles: true })); })()`, sel, value))
}

// shot writes a screenshot of the whole page as <dir>/<name>.png.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tb.shots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) failShot() {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		name := filepath.Join(tb.shots, "FAILED-"+strings.ReplaceAll(tb.t.Name(), "/", "-")+".png")
		os.WriteFile(name, png, 0o644)
		tb.t.Logf("the page at the failure: %s", name)
	}
}

// noHorizontalScroll checks the page is no wider than the viewport.
func (tb *tab) noHorizontalScroll(where string) {
	tb.t.Helper()
	sizes := eval[[]int](tb, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if sizes[0] > sizes[1] {
		tb.failShot()
		tb.t.Errorf("%s: %s scrolls sideways: scrollWidth %d > innerWidth %d", tb.name, where, sizes[0], sizes[1])
	}
}
