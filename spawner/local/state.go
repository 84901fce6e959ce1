package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

// stateFile is what StateDir/servers/{key}.json holds about one server.
// It holds no secret: the API token lives only in the process's
// environment.
type stateFile struct {
	Version int         `json:"version"`
	Ref     spawner.Ref `json:"ref"`
	PID     int         `json:"pid"`
	// ProcStart is the process's start time as the kernel reports it
	// (clock ticks since boot on Linux), 0 where unknown. With PID it
	// identifies the process: a reused pid has another start time.
	ProcStart uint64 `json:"proc_start"`
	Port      int    `json:"port"`
	// URL is where the server listens ("http://127.0.0.1:PORT").
	URL string `json:"url"`
	// Prefix is the server's JupyterHub prefix ("/user/NAME/").
	Prefix string `json:"prefix"`
	// Home is the server's working directory.
	Home string `json:"home"`
	// Started is when the process was started.
	Started time.Time `json:"started"`
	// Ready is set once the server answered.
	Ready   bool      `json:"ready"`
	ReadyAt time.Time `json:"ready_at,omitzero"`
}

// alive reports whether the process the state file names still runs: the
// pid exists, has not exited, and (where known) started when recorded.
func (st *stateFile) alive() bool {
	if st.PID <= 1 {
		return false
	}
	info, ok := lookupProc(st.PID)
	return ok && (st.ProcStart == 0 || info.start == st.ProcStart)
}

// same reports whether two state files describe the same process.
func (st *stateFile) same(o *stateFile) bool {
	return o != nil && st.PID == o.PID && st.ProcStart == o.ProcStart
}

// server returns the spawner.Server the state file describes.
func (st *stateFile) server() spawner.Server {
	started := st.ReadyAt
	if started.IsZero() {
		started = st.Started
	}
	return spawner.Server{
		Ref:     st.Ref,
		URL:     st.URL,
		Started: started,
		State: map[string]string{
			"pid":        strconv.Itoa(st.PID),
			"proc_start": strconv.FormatUint(st.ProcStart, 10),
			"port":       strconv.Itoa(st.Port),
			"home":       st.Home,
		},
	}
}

// serversDir is the directory of the state files.
func (s *Spawner) serversDir() string { return filepath.Join(s.opts.StateDir, "servers") }

func (s *Spawner) statePath(ref spawner.Ref) string {
	return filepath.Join(s.serversDir(), stateKey(ref)+".json")
}

// errBadState marks a state file that cannot be used.
var errBadState = errors.New("unusable state file")

// readState returns ref's state file, nil when there is none, or an error
// wrapping errBadState when the file is unreadable or not about ref.
func (s *Spawner) readState(ref spawner.Ref) (*stateFile, error) {
	st, err := readStateFile(s.statePath(ref))
	if err != nil || st == nil {
		return nil, err
	}
	if st.Ref != ref {
		return nil, fmt.Errorf("%w: %s names %s", errBadState, s.statePath(ref), st.Ref)
	}
	return st, nil
}

func readStateFile(path string) (*stateFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadState, err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errBadState, path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%w: %s: version %d, want %d", errBadState, path, st.Version, stateVersion)
	}
	return &st, nil
}

// writeState replaces the state file atomically (write and rename), so
// that readers see the old or the new file, never a part.
func (s *Spawner) writeState(st *stateFile) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(s.serversDir(), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.statePath(st.Ref))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// removeStateIf removes ref's state file if it still describes the
// process of st (a later start may have replaced it), under the lock.
func (s *Spawner) removeStateIf(st *stateFile) error {
	if cur, err := s.readState(st.Ref); err != nil || !st.same(cur) {
		return nil // nothing to remove (checked again under the lock)
	}
	return s.locked(func() error {
		cur, err := s.readState(st.Ref)
		if err != nil || !st.same(cur) {
			return nil
		}
		if err := os.Remove(s.statePath(st.Ref)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// removeBadState removes an unusable state file of ref.
func (s *Spawner) removeBadState(ref spawner.Ref) error {
	return s.locked(func() error {
		if _, err := s.readState(ref); !errors.Is(err, errBadState) {
			return nil
		}
		if err := os.Remove(s.statePath(ref)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// lockPath is the lock file that New creates.
func (s *Spawner) lockPath() string { return filepath.Join(s.opts.StateDir, "lock") }

// locked runs fn holding the StateDir lock, which serialises the
// read-check-write steps of Spawners that share StateDir, in this process
// or another. It does not create the lock file: a StateDir deleted under a
// running Spawner stays deleted.
func (s *Spawner) locked(fn func() error) error {
	f, err := os.OpenFile(s.lockPath(), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close() // releases the lock
	if err := lockFile(f); err != nil {
		return err
	}
	return fn()
}

// listStates reads every state file in StateDir. Unusable files are
// skipped and logged.
func (s *Spawner) listStates() ([]*stateFile, error) {
	entries, err := os.ReadDir(s.serversDir())
	if err != nil {
		return nil, err
	}
	var out []*stateFile
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		st, err := readStateFile(filepath.Join(s.serversDir(), name))
		if err == nil && st != nil && stateKey(st.Ref)+".json" != name {
			err = fmt.Errorf("%w: %s names %s", errBadState, name, st.Ref)
		}
		if err != nil {
			s.opts.Logger.Warn("local: skipping state file", "file", name, "error", err)
			continue
		}
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}
