package pcsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Seek paging as the customers and users lists do it ([SDK] BaseResourceCollectionEnumerator.cs): a page's
// links.next carries a uri that already starts with /v1 (the real service does that, and naive clients then
// request /v1//v1/…) and an MS-ContinuationToken header the client must send back with seekOperation=Next.

const (
	defaultPageSize = 100
	maxPageSize     = 500 // the community-observed practical maximum (partner-center.md §2.1)
)

// cursor is what a continuation token encodes; scope stops a customers token from paging a user list.
type cursor struct {
	Scope  string `json:"s"`
	Offset int    `json:"o"`
}

func (c cursor) token() string {
	b, _ := json.Marshal(c) // two plain fields cannot fail to marshal
	return base64.StdEncoding.EncodeToString(b)
}

// pageRequest reads size and, for seekOperation=Next, the continuation token of a seek-paged list.
func pageRequest(r *http.Request, scope string) (size, offset int, rep reply, ok bool) {
	q := r.URL.Query()
	size = defaultPageSize
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, badInput("size must be a positive integer."), false
		}
		size = min(n, maxPageSize)
	}
	seek := q.Get("seekOperation")
	if seek == "" {
		return size, 0, reply{}, true
	}
	if !strings.EqualFold(seek, "Next") {
		return 0, 0, badInput("seekOperation must be Next."), false
	}
	tok := r.Header.Get("MS-ContinuationToken")
	if tok == "" {
		return 0, 0, badInput("seekOperation=Next requires the MS-ContinuationToken header of the previous page's next link."), false
	}
	var c cursor
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.Scope != scope || c.Offset < 0 {
		return 0, 0, badInput("The MS-ContinuationToken is not valid for this collection."), false
	}
	return size, c.Offset, reply{}, true
}

// seekPage cuts one page out of items. totalCount is the number of items in this page, which is how the SDK
// sees a seek-paged collection (it has no total to report without walking every page).
func seekPage[T any](items []T, size, offset int, path, scope string) collection {
	offset = min(offset, len(items))
	end := min(len(items), offset+size)
	first := path + "?size=" + strconv.Itoa(size)
	c := newCollection(items[offset:end], first)
	if end < len(items) {
		next := getLink(first + "&seekOperation=Next")
		next.Headers = []linkHeader{{Key: "MS-ContinuationToken", Value: cursor{Scope: scope, Offset: end}.token()}}
		c.Links["next"] = next
	}
	return c
}
