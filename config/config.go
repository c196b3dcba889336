// Package config reads kaizalabot's settings from the environment
// (12-factor), with *_FILE variants for secrets, and reports every bad or
// missing setting as one line that names the variable.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Env looks up an environment variable.
type Env func(name string) (string, bool)

// OS is the process environment.
func OS() Env { return os.LookupEnv }

// Map is an environment for tests.
func Map(m map[string]string) Env {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

// Problems collects configuration mistakes, one line each.
type Problems []string

// Addf records a problem.
func (p *Problems) Addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Err returns the problems as one error (one line each), or nil.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "\n"))
}

// String returns the variable's value, or def when it is unset or empty.
func (e Env) String(name, def string) string {
	if v, ok := e(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// Required returns the variable's value, recording a problem when it is unset.
func (e Env) Required(name string, p *Problems) string {
	v := e.String(name, "")
	if v == "" {
		p.Addf("%s is not set", name)
	}
	return v
}

// Secret returns NAME, or the contents of the file NAME_FILE names (for
// Docker and Kubernetes secrets). Setting both is a mistake. The value never
// appears in a problem.
func (e Env) Secret(name string, required bool, p *Problems) string {
	direct, hasDirect := e(name)
	path, hasFile := e(name + "_FILE")
	hasDirect = hasDirect && direct != ""
	hasFile = hasFile && strings.TrimSpace(path) != ""
	switch {
	case hasDirect && hasFile:
		p.Addf("%s and %s_FILE are both set; set only one", name, name)
		return ""
	case hasFile:
		data, err := os.ReadFile(strings.TrimSpace(path))
		if err != nil {
			var pathErr *os.PathError
			if errors.As(err, &pathErr) {
				err = pathErr.Err
			}
			p.Addf("%s_FILE: cannot read %q: %v", name, strings.TrimSpace(path), err)
			return ""
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" && required {
			p.Addf("%s_FILE: %q is empty", name, strings.TrimSpace(path))
		}
		return v
	case hasDirect:
		return direct
	case required:
		p.Addf("%s is not set (or set %s_FILE to a file holding it)", name, name)
	}
	return ""
}

// Int returns the variable as an integer in [lo, hi], or def when unset.
func (e Env) Int(name string, def, lo, hi int, p *Problems) int {
	v := e.String(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.Addf("%s=%q: want a whole number from %d to %d", name, v, lo, hi)
		return def
	}
	return n
}

// URL returns the variable as an absolute http(s) URL, or def when unset.
func (e Env) URL(name, def string, p *Problems) string {
	v := e.String(name, def)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Addf("%s=%q: want an absolute http:// or https:// URL", name, v)
	}
	return v
}
