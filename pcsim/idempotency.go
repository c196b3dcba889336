package pcsim

import (
	"net/http"
	"strings"
	"sync"
)

// idempotencyStore implements MS-RequestId: "If there's a timeout, the retry call should include the same
// value" ([PC-2023] developer/headers.md). The first non-5xx answer to a write is kept per (method, path,
// request id) and replayed for every repeat, which then changes nothing. Answers lost to a cut-off connection
// are kept too: that is exactly the case a retry has to be safe for.
type idempotencyStore struct {
	mu      sync.Mutex // held while a keyed write runs, so a concurrent repeat waits for the first answer
	replies map[string]reply
}

func (st *idempotencyStore) do(r *http.Request, write func() reply) reply {
	id := r.Header.Get("MS-RequestId")
	if r.Method == http.MethodGet || id == "" {
		return write()
	}
	key := r.Method + " " + strings.ToLower(r.URL.Path) + " " + id
	st.mu.Lock()
	defer st.mu.Unlock()
	if rep, ok := st.replies[key]; ok {
		return rep
	}
	rep := write()
	if rep.status < http.StatusInternalServerError {
		st.replies[key] = reply{status: rep.status, body: rep.body}
	}
	return rep
}
