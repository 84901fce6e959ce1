package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// paginationType asks for JupyterHub's paginated user list.
const paginationType = "application/jupyterhub-pagination+json"

// walkResult is one walk over all pages of GET /hub/api/users.
type walkResult struct {
	pages, users int
	took         time.Duration
}

// walk reads every page of GET /hub/api/users (limit per page) one after
// the other, following _pagination.next, and checks that it saw want users.
func walk(ctx context.Context, client *http.Client, s *started, token string, limit, want int) (walkResult, error) {
	var r walkResult
	start := time.Now()
	offset := 0
	for {
		url := fmt.Sprintf("%s/hub/api/users?offset=%d&limit=%d", s.base, offset, limit)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return r, err
		}
		req.Header.Set("Authorization", "token "+token)
		req.Header.Set("Accept", paginationType)
		res, err := client.Do(req)
		if err != nil {
			return r, err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return r, err
		}
		if res.StatusCode != http.StatusOK {
			return r, fmt.Errorf("%s: GET %s: %s: %.200s", s.peer, url, res.Status, b)
		}
		var page struct {
			Items      []json.RawMessage `json:"items"`
			Pagination struct {
				Total int `json:"total"`
				Next  *struct {
					Offset int `json:"offset"`
				} `json:"next"`
			} `json:"_pagination"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return r, fmt.Errorf("%s: GET %s: %w", s.peer, url, err)
		}
		r.pages++
		r.users += len(page.Items)
		if page.Pagination.Next == nil {
			break
		}
		if page.Pagination.Next.Offset <= offset {
			return r, fmt.Errorf("%s: GET %s: next offset %d does not advance", s.peer, url, page.Pagination.Next.Offset)
		}
		offset = page.Pagination.Next.Offset
	}
	r.took = time.Since(start)
	if r.users != want {
		return r, fmt.Errorf("%s: the walk saw %d users, want %d", s.peer, r.users, want)
	}
	return r, nil
}

// loadResult is one bounded run of load at one concurrency.
type loadResult struct {
	requests int
	errors   int // non-200 answers and transport errors
	rps      float64
	p50, p99 time.Duration
}

// loadSpec is what a load run sends.
type loadSpec struct {
	kind        string // "activity" or "self"
	users       int    // activity: spread over user-00000 … user-{users-1}
	adminToken  string // activity: the admin service's token
	tokens      []string
	tokensFile  string // the same tokens, one per line, for wrk
	conc        int
	duration    time.Duration
	maxRequests int // the Go client stops after this many; 0: no bound
}

// activityBody is what jupyterhub-singleuser reports: the user's and the
// default server's last activity.
func activityBody(t time.Time) []byte {
	ts := t.UTC().Format("2006-01-02T15:04:05.000000Z")
	return []byte(`{"last_activity":"` + ts + `","servers":{"":{"last_activity":"` + ts + `"}}}`)
}

// loadGo runs spec against s with Go's HTTP client: spec.conc workers, one
// connection each, until spec.duration has passed or spec.maxRequests were
// sent.
func loadGo(ctx context.Context, s *started, spec loadSpec) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: spec.conc, MaxConnsPerHost: spec.conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, spec.duration)
	defer cancel()
	var sent, errs atomic.Int64
	lats := make([][]time.Duration, spec.conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range spec.conc {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += spec.conc {
				if spec.maxRequests > 0 && sent.Add(1) > int64(spec.maxRequests) {
					cancel()
					return
				}
				var req *http.Request
				switch spec.kind {
				case "activity":
					u := fmt.Sprintf("%s/hub/api/users/%s/activity", s.base, userName(i*7919%spec.users))
					req, _ = http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(activityBody(time.Now())))
					req.Header.Set("Authorization", "token "+spec.adminToken)
					req.Header.Set("Content-Type", "application/json")
				default:
					req, _ = http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/hub/api/user", nil)
					req.Header.Set("Authorization", "token "+spec.tokens[i%len(spec.tokens)])
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if ctx.Err() != nil {
					return // cut off by the end of the run: not counted
				}
				if res.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := loadResult{requests: len(all), errors: int(errs.Load())}
	if len(all) > 0 {
		r.rps = float64(len(all)) / el.Seconds()
		r.p50 = all[len(all)*50/100]
		r.p99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r, nil
}

// wrkScripts are the Lua scripts of the wrk load: the same requests as
// loadGo's.
const wrkActivity = `-- POST /hub/api/users/{name}/activity as jupyterhub-singleuser sends it,
-- spread over HUBBENCH_USERS users; each thread starts elsewhere.
local n = tonumber(os.getenv("HUBBENCH_USERS"))
local token = os.getenv("HUBBENCH_TOKEN")
local threads = 0
local counter = 0
function setup(thread)
  thread:set("first", threads * 1000003)
  threads = threads + 1
end
function init(args)
  counter = first or 0
end
request = function()
  counter = counter + 1
  local t = os.date("!%Y-%m-%dT%H:%M:%S", os.time()) .. string.format(".%06dZ", counter % 1000000)
  local body = '{"last_activity":"' .. t .. '","servers":{"":{"last_activity":"' .. t .. '"}}}'
  return wrk.format("POST", string.format("/hub/api/users/user-%05d/activity", (counter * 7919) % n),
    {["Authorization"] = "token " .. token, ["Content-Type"] = "application/json"}, body)
end
`

const wrkSelf = `-- GET /hub/api/user with the user tokens of HUBBENCH_TOKENS in turn.
local tokens = {}
for line in io.lines(os.getenv("HUBBENCH_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local threads = 0
local counter = 0
function setup(thread)
  thread:set("first", threads * 7)
  threads = threads + 1
end
function init(args)
  counter = first or 0
end
request = function()
  counter = counter + 1
  return wrk.format("GET", "/hub/api/user", {["Authorization"] = "token " .. tokens[(counter % #tokens) + 1]})
end
`

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`(\d+) requests in`)
	reLat      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reSockErr  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// loadWrk runs spec against s with wrk (two threads, --latency) and reads
// its report.
func loadWrk(ctx context.Context, wrk, scriptDir string, s *started, spec loadSpec) (loadResult, error) {
	script := filepath.Join(scriptDir, "activity.lua")
	path := "/hub/api/users/"
	if spec.kind == "self" {
		script = filepath.Join(scriptDir, "self.lua")
		path = "/hub/api/user"
	}
	threads := min(2, spec.conc)
	secs := max(1, int(spec.duration.Round(time.Second).Seconds()))
	cmd := exec.CommandContext(ctx, wrk, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(spec.conc), "-d"+strconv.Itoa(secs)+"s",
		"--timeout", "10s", "--latency", "-s", script, s.base+path)
	cmd.Env = append(os.Environ(), "HUBBENCH_USERS="+strconv.Itoa(spec.users), "HUBBENCH_TOKEN="+spec.adminToken, "HUBBENCH_TOKENS="+spec.tokensFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(out)
}

func parseWrk(out []byte) (loadResult, error) {
	var r loadResult
	m := reRPS.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := reRequests.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(string(m[1]))
	}
	for _, l := range reLat.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		d := time.Duration(v * float64(map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(l[3])]))
		if string(l[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := reNon2xx.FindSubmatch(out); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		r.errors += n
	}
	if m := reSockErr.FindSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(string(s))
			r.errors += n
		}
	}
	return r, nil
}

// writeWrkScripts puts the Lua scripts into dir.
func writeWrkScripts(dir string) error {
	for name, text := range map[string]string{"activity.lua": wrkActivity, "self.lua": wrkSelf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// check sends one request of spec's kind with Go's client and requires a
// 200, so that a misconfigured peer fails before any figure is taken.
func check(ctx context.Context, client *http.Client, s *started, spec loadSpec) error {
	var req *http.Request
	if spec.kind == "activity" {
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/hub/api/users/"+userName(spec.users-1)+"/activity", bytes.NewReader(activityBody(time.Now())))
		req.Header.Set("Authorization", "token "+spec.adminToken)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/hub/api/user", nil)
		req.Header.Set("Authorization", "token "+spec.tokens[0])
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s: %s: %s", s.peer, req.Method, req.URL.Path, res.Status, strings.TrimSpace(string(b)))
	}
	if spec.kind == "self" && !bytes.Contains(b, []byte(`"`+userName(0)+`"`)) {
		return fmt.Errorf("%s: GET /hub/api/user with %s's token: %.300s", s.peer, userName(0), b)
	}
	return nil
}

// touchTokens sends GET /hub/api/user once with every token, ten at a time.
func touchTokens(ctx context.Context, client *http.Client, s *started, tokens []string) error {
	var next atomic.Int64
	errc := make(chan error, 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tokens) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/hub/api/user", nil)
				req.Header.Set("Authorization", "token "+tokens[i])
				res, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errc <- fmt.Errorf("%s: GET /hub/api/user with token %d: %s", s.peer, i, res.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}
