package pcsim

import "time"

// Shared pieces of the wire format ([PC-2023] developer/utility-resources.md and the pc-samples).

// link is a Partner Center Link; headers is always an array, never null.
type link struct {
	URI     string       `json:"uri,omitempty"`
	Method  string       `json:"method"`
	Headers []linkHeader `json:"headers"`
}

type linkHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func getLink(uri string) link { return link{URI: uri, Method: "GET", Headers: []linkHeader{}} }

type attributes struct {
	Etag       string `json:"etag,omitempty"`
	ObjectType string `json:"objectType"`
}

func objectType(t string) attributes { return attributes{ObjectType: t} }

// collection is the envelope of every list answer.
type collection struct {
	TotalCount int             `json:"totalCount"`
	Items      any             `json:"items"`
	Links      map[string]link `json:"links"`
	Attributes attributes      `json:"attributes"`
}

// newCollection wraps items (a non-nil slice, so that an empty list is [] and not null) with a self link.
func newCollection[T any](items []T, self string) collection {
	if items == nil {
		items = []T{}
	}
	return collection{
		TotalCount: len(items),
		Items:      items,
		Links:      map[string]link{"self": getLink(self)},
		Attributes: objectType("Collection"),
	}
}

// Timestamps: Partner Center writes UTC instants with milliseconds and dates as midnight instants.
func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func dayStart(d time.Time) string { return d.UTC().Format("2006-01-02") + "T00:00:00Z" }

// dayEnd is used for commitmentEndDateTime: "End dates are inclusive, meaning the end of the term is at the
// end of the full day" ([PC-2023] developer/subscription-resources.md).
func dayEnd(d time.Time) string { return d.UTC().Format("2006-01-02") + "T23:59:59Z" }

func midnight(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
