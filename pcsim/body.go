package pcsim

import (
	"encoding/json"
	"net/http"
	"strings"
)

const maxBodyBytes = 1 << 20

// decodeBody reads a JSON request body into v. Property names match case-insensitively (encoding/json does
// that), which is what accepting both the SDK's PascalCase and the docs' camelCase requires.
func decodeBody(r *http.Request, v any) (reply, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err := dec.Decode(v); err != nil {
		return badInput("The request body is not valid JSON: " + err.Error()), false
	}
	return reply{}, true
}

// termOf validates a termDuration; empty means the one-year default.
func termOf(d string) (string, bool) {
	switch d = strings.ToUpper(d); d {
	case "":
		return "P1Y", true
	case "P1M", "P1Y", "P3Y":
		return d, true
	}
	return "", false
}

// cycleOf validates a billing cycle; empty and "unknown" mean annual.
func cycleOf(c string) (string, bool) {
	switch c = strings.ToLower(c); c {
	case "", "unknown":
		return "annual", true
	case "annual", "monthly":
		return c, true
	}
	return "", false
}
