package pcclient

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Time is a Partner Center timestamp. Decoding never fails: the service and
// its documentation use RFC 3339 with and without fractions or offsets, bare
// dates, and even typos such as "2015-11-25T06: 41: 12Z"
// (get-all-of-a-customer-s-subscriptions.md). What cannot be parsed stays in
// Raw with a zero Time, so one odd field never loses a whole customer.
type Time struct {
	time.Time
	Raw string
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02",
}

// ParseTime parses a Partner Center timestamp the way Time's decoder does.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, candidate := range []string{s, strings.ReplaceAll(s, " ", "")} {
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, candidate); err == nil {
				return t.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

// UnmarshalJSON accepts a string in any known layout, or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	*t = Time{}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.Raw = string(b)
		return nil
	}
	t.Raw = s
	if parsed, ok := ParseTime(s); ok {
		t.Time = parsed
	}
	return nil
}

// MarshalJSON writes the original text when there was one, so a resource
// read and sent back (PATCH needs the full body) is not altered.
func (t Time) MarshalJSON() ([]byte, error) {
	switch {
	case t.Raw != "":
		return json.Marshal(t.Raw)
	case t.IsZero():
		return []byte("null"), nil
	default:
		return json.Marshal(t.Format(time.RFC3339))
	}
}

// neverEndsAfterYear separates real end dates from the "date far, far away in
// the future" that subscriptions which don't auto-renew carry
// (subscription-resources.md; the Azure example uses 9999-12-10).
const neverEndsAfterYear = 2200

// IsNeverEnds reports whether t is the far-future "never ends" sentinel.
func IsNeverEnds(t time.Time) bool { return t.Year() >= neverEndsAfterYear }

// Code is an error code. The error-codes doc says it is a string, newer
// services send numbers (e.g. 600061, 60012), so both decode to text.
type Code string

// UnmarshalJSON accepts a JSON string, number or null.
func (c *Code) UnmarshalJSON(b []byte) error {
	*c = ""
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Code(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		// Not a number either (an object, a bool): keep the text, never fail.
		*c = Code(string(b))
		return nil
	}
	*c = Code(n.String())
	return nil
}

// Int returns the code as a number when it is one.
func (c Code) Int() (int, bool) {
	n, err := strconv.Atoi(string(c))
	return n, err == nil
}

// SameID compares Partner Center identifiers. The service mixes upper-case
// (subscriptions) and lower-case (customers, orders) GUIDs for the same object.
func SameID(a, b string) bool { return strings.EqualFold(a, b) }

// Attributes is the attributes object every resource carries.
type Attributes struct {
	Etag       string `json:"etag,omitempty"`
	ObjectType string `json:"objectType,omitempty"`
}

// KeyValue is a header carried by a Link.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Link is a resource link; next-page links carry headers (MS-ContinuationToken)
// that must be sent with the request.
type Link struct {
	URI     string     `json:"uri,omitempty"`
	Method  string     `json:"method,omitempty"`
	Headers []KeyValue `json:"headers,omitempty"`
}

// Links is the links object of a collection or resource.
type Links struct {
	Self     *Link `json:"self,omitempty"`
	Next     *Link `json:"next,omitempty"`
	Previous *Link `json:"previous,omitempty"`
}

// Collection is the envelope of every list answer.
type Collection[T any] struct {
	TotalCount int        `json:"totalCount"`
	Items      []T        `json:"items"`
	Links      Links      `json:"links"`
	Attributes Attributes `json:"attributes"`
}
