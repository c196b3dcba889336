// Package browsertest starts headless Chromium for the browser tests.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Find returns a Chromium or Chrome to drive. Without one the test is
// skipped, except in CI (CI set), where a missing browser is a failure:
// .ci/run installs Debian's chromium.
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	for _, path := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	const why = "no Chromium found (looked for chromium, chromium-browser, google-chrome): install one (apt-get install chromium) to run the browser tests"
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

// New starts a headless Chromium with a fresh profile, stopped when the
// test ends. Background networking is off: this machine's network is
// closed, and the browser should talk to nothing but the page under test.
func New(t testing.TB, ctx context.Context, path string) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the browser has exited: cleanups run last first
	allocator, cancelAllocator := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 900),
	)
	t.Cleanup(cancelAllocator)
	browser, cancelBrowser := chromedp.NewContext(allocator)
	t.Cleanup(cancelBrowser)
	return browser
}
