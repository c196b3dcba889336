package config

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kaizalabot/kaizalabot/bot"
)

// OwnersError is a mistake in the KAIZALA_OWNERS file, at a line (0 when
// it is about the whole file).
type OwnersError struct {
	Path    string
	Line    int
	Problem string
}

func (e *OwnersError) Error() string {
	if e.Line == 0 {
		return e.Path + ": " + e.Problem
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Problem)
}

var ownerChannelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)

// LoadOwners reads the file of KAIZALA_OWNERS, which maps customers (domain
// or Partner Center customer id) to their account owners' Slack user IDs
// and, optionally, a channel. A .csv file has the header
// customer,owner[,channel]; a .yaml or .yml file is a list of
// {customer, owner, channel} or a map from customer to owner (or to
// {owner, channel}). Any mistake is an *OwnersError naming the line.
func LoadOwners(path string) (*bot.Owners, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return nil, &OwnersError{Path: path, Problem: "cannot read it: " + err.Error()}
	}
	return ParseOwners(path, data)
}

// ParseOwners reads an owners file's contents; path's extension says the
// format and path names the file in errors.
func ParseOwners(path string, data []byte) (*bot.Owners, error) {
	p := &ownersParser{path: path, owners: &bot.Owners{}, lines: map[string]int{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, p.fail(0, "the file is empty; want a header line customer,owner[,channel] (CSV) or a YAML list or map")
	}
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		err = p.csv(data)
	case ".yaml", ".yml":
		err = p.yaml(data)
	default:
		err = p.fail(0, "want a .csv, .yaml or .yml file")
	}
	if err != nil {
		return nil, err
	}
	return p.owners, nil
}

type ownersParser struct {
	path   string
	owners *bot.Owners
	lines  map[string]int // customer (lower case) -> the line that named it
}

func (p *ownersParser) fail(line int, format string, args ...any) error {
	return &OwnersError{Path: p.path, Line: line, Problem: fmt.Sprintf(format, args...)}
}

// add checks one mapping and adds it.
func (p *ownersParser) add(line int, customer, user, channel string) error {
	customer, user, channel = strings.TrimSpace(customer), strings.TrimSpace(user), strings.TrimSpace(channel)
	key := strings.ToLower(customer)
	switch {
	case customer == "":
		return p.fail(line, "no customer: want its domain (contoso.onmicrosoft.com) or Partner Center customer id")
	case user == "":
		return p.fail(line, "customer %s has no owner: want the owner's Slack user ID", customer)
	case !slackUserID.MatchString(user):
		return p.fail(line, "owner %q of %s is not a Slack user ID (they look like U024BE7LH; find one in a profile under ⋮ → Copy member ID)", user, customer)
	case channel != "" && !ownerChannelID.MatchString(channel):
		return p.fail(line, "channel %q of %s is not a channel ID (they look like C0123ABCD, under the channel's name → About), not a #name", channel, customer)
	}
	if first, dup := p.lines[key]; dup {
		return p.fail(line, "customer %s is listed twice (first on line %d)", customer, first)
	}
	if err := p.owners.Add(customer, bot.Owner{UserID: user, Channel: channel}); err != nil {
		return p.fail(line, "%v", err)
	}
	p.lines[key] = line
	return nil
}

// csv reads "customer,owner[,channel]" with a header line naming the
// columns (in any order); lines starting with # are comments.
func (p *ownersParser) csv(data []byte) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))) // spreadsheets write a BOM
	r.Comment, r.FieldsPerRecord, r.TrimLeadingSpace = '#', -1, true
	header, err := r.Read()
	if err != nil {
		return p.csvError(err)
	}
	line, _ := r.FieldPos(0)
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "customer", "owner", "channel":
		default:
			return p.fail(line, "unknown column %q; the header is customer,owner[,channel]", name)
		}
		if _, dup := col[name]; dup {
			return p.fail(line, "column %s appears twice in the header", name)
		}
		col[name] = i
	}
	if _, ok := col["customer"]; !ok {
		return p.fail(line, "the header has no customer column; want customer,owner[,channel]")
	}
	if _, ok := col["owner"]; !ok {
		return p.fail(line, "the header has no owner column; want customer,owner[,channel]")
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return p.csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) > len(header) {
			return p.fail(line, "%d fields, but the header names %d", len(rec), len(header))
		}
		if err := p.add(line, field(rec, "customer"), field(rec, "owner"), field(rec, "channel")); err != nil {
			return err
		}
	}
}

func (p *ownersParser) csvError(err error) error {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return p.fail(parseErr.Line, "not valid CSV: %v", parseErr.Err)
	}
	if errors.Is(err, io.EOF) {
		return p.fail(0, "no header line; want customer,owner[,channel]")
	}
	return p.fail(0, "%v", err)
}

// yaml reads a list of {customer, owner, channel} or a map from customer to
// owner or to {owner, channel}.
func (p *ownersParser) yaml(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 says "yaml: line 3: …"; the line goes where ours go.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		var line int
		if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
			_, msg, _ = strings.Cut(msg, ": ")
		}
		return p.fail(line, "not valid YAML: %s", msg)
	}
	if len(doc.Content) == 0 {
		return p.fail(0, "the file has no owners")
	}
	root := doc.Content[0]
	switch root.Kind {
	case yaml.SequenceNode:
		for _, item := range root.Content {
			if item.Kind != yaml.MappingNode {
				return p.fail(item.Line, "want an entry like {customer: contoso.onmicrosoft.com, owner: U024BE7LH}")
			}
			fields, err := p.yamlFields(item, "customer", "owner", "channel")
			if err != nil {
				return err
			}
			if err := p.add(item.Line, fields["customer"], fields["owner"], fields["channel"]); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		for i := 0; i+1 < len(root.Content); i += 2 {
			key, value := root.Content[i], root.Content[i+1]
			if key.Kind != yaml.ScalarNode {
				return p.fail(key.Line, "a customer must be a domain or a customer id")
			}
			switch value.Kind {
			case yaml.ScalarNode:
				if err := p.add(key.Line, key.Value, value.Value, ""); err != nil {
					return err
				}
			case yaml.MappingNode:
				fields, err := p.yamlFields(value, "owner", "channel")
				if err != nil {
					return err
				}
				if err := p.add(key.Line, key.Value, fields["owner"], fields["channel"]); err != nil {
					return err
				}
			default:
				return p.fail(value.Line, "customer %s: want its owner's Slack user ID, or {owner: U…, channel: C…}", key.Value)
			}
		}
		return nil
	}
	return p.fail(root.Line, "want a list of {customer, owner, channel} or a map from customer to owner")
}

// yamlFields reads a mapping of scalars whose keys are among allowed.
func (p *ownersParser) yamlFields(n *yaml.Node, allowed ...string) (map[string]string, error) {
	fields := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		name := strings.ToLower(key.Value)
		switch {
		case key.Kind != yaml.ScalarNode || !slices.Contains(allowed, name):
			return nil, p.fail(key.Line, "unknown field %q; want %s", key.Value, strings.Join(allowed, ", "))
		case value.Kind != yaml.ScalarNode:
			return nil, p.fail(value.Line, "%s: want a single value", name)
		}
		if _, dup := fields[name]; dup {
			return nil, p.fail(key.Line, "%s is given twice", name)
		}
		fields[name] = value.Value
	}
	return fields, nil
}
