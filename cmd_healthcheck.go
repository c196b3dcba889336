package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kaizalabot/kaizalabot/config"
)

// runHealthcheck asks a running `serve` for /healthz: the container's
// HEALTHCHECK, in an image with no shell or curl.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "Usage: kaizalabot healthcheck   (asks http://127.0.0.1:<port of KAIZALA_LISTEN>/healthz)")
		return exitConfig
	}
	listen := config.OS().String("KAIZALA_LISTEN", config.DefaultListen)
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot healthcheck: KAIZALA_LISTEN=%q: %v\n", listen, err)
		return exitConfig
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "kaizalabot healthcheck: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return exitFailed
	}
	return exitOK
}
