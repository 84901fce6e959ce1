package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hubkit/hubkit/spawner"
)

// Override keys that Start accepts in Request.Override. They are the
// names of the corresponding JupyterHub Spawner traits.
const (
	// OverrideCmd replaces Options.Cmd: a list of strings, or one string
	// for a command without arguments. nil restores the default.
	OverrideCmd = "cmd"
	// OverrideArgs replaces Options.Args: a list of strings. nil restores
	// the default.
	OverrideArgs = "args"
	// OverrideEnvironment merges into Options.Env: a map of strings; a nil
	// value deletes the variable.
	OverrideEnvironment = "environment"
	// OverrideStartTimeout replaces Options.StartTimeout: a positive
	// number of seconds. nil restores the default.
	OverrideStartTimeout = "start_timeout"
)

// config is what one start runs: the options after the override.
type config struct {
	cmd          []string
	args         []string
	env          map[string]string
	startTimeout time.Duration
}

// resolve applies a profile override to the spawner's options. Any
// unknown key or ill-typed value is an ErrInvalid error naming the key.
func (o *Options) resolve(ov map[string]any) (config, error) {
	c := config{
		cmd:          slices.Clone(o.Cmd),
		args:         slices.Clone(o.Args),
		env:          maps.Clone(o.Env),
		startTimeout: o.StartTimeout,
	}
	if c.env == nil {
		c.env = map[string]string{}
	}
	for _, key := range slices.Sorted(maps.Keys(ov)) {
		v := ov[key]
		var err error
		switch key {
		case OverrideCmd:
			if v == nil {
				break
			}
			c.cmd, err = stringList(v, true)
			if err == nil && (len(c.cmd) == 0 || c.cmd[0] == "") {
				err = errors.New("names no command")
			}
		case OverrideArgs:
			if v == nil {
				c.args = slices.Clone(o.Args)
				break
			}
			c.args, err = stringList(v, false)
		case OverrideEnvironment:
			err = mergeEnv(c.env, v)
		case OverrideStartTimeout:
			if v == nil {
				break
			}
			c.startTimeout, err = seconds(v)
		default:
			return c, fmt.Errorf("local: %w: unknown override key %q (known: %s, %s, %s, %s)",
				spawner.ErrInvalid, key, OverrideCmd, OverrideArgs, OverrideEnvironment, OverrideStartTimeout)
		}
		if err != nil {
			return c, fmt.Errorf("local: %w: override %q: %v", spawner.ErrInvalid, key, err)
		}
	}
	if err := checkArgs(append(slices.Clone(c.cmd), c.args...)); err != nil {
		return c, fmt.Errorf("local: %w: command: %v", spawner.ErrInvalid, err)
	}
	if err := checkEnv(c.env); err != nil {
		return c, fmt.Errorf("local: %w: override %q: %v", spawner.ErrInvalid, OverrideEnvironment, err)
	}
	return c, nil
}

// stringList converts a JSON-decoded ([]any) or typed ([]string) list of
// strings; a single string is a one-element list when single is set.
func stringList(v any, single bool) ([]string, error) {
	switch v := v.(type) {
	case string:
		if single {
			return []string{v}, nil
		}
	case []string:
		return slices.Clone(v), nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d is %T, not a string", i, e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("is %T, not a list of strings", v)
}

// mergeEnv merges an "environment" override into env: string values set
// a variable, nil values delete it.
func mergeEnv(env map[string]string, v any) error {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]string:
		maps.Copy(env, v)
		return nil
	case map[string]any:
		for k, e := range v {
			switch e := e.(type) {
			case nil:
				delete(env, k)
			case string:
				env[k] = e
			default:
				return fmt.Errorf("variable %q is %T, not a string", k, e)
			}
		}
		return nil
	}
	return fmt.Errorf("is %T, not a map of strings", v)
}

// seconds converts a number of seconds to a positive duration.
func seconds(v any) (time.Duration, error) {
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case float32:
		f = float64(v)
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case json.Number:
		var err error
		if f, err = v.Float64(); err != nil {
			return 0, fmt.Errorf("%q is not a number", v)
		}
	default:
		return 0, fmt.Errorf("is %T, not a number of seconds", v)
	}
	if math.IsNaN(f) || f <= 0 || f > math.MaxInt64/float64(time.Second) {
		return 0, fmt.Errorf("%v is not a positive number of seconds", f)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// checkEnv rejects variables that cannot be passed to a process.
func checkEnv(env map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		switch {
		case k == "":
			return errors.New("empty variable name")
		case strings.ContainsAny(k, "=\x00"):
			return fmt.Errorf("variable name %q contains '=' or NUL", k)
		case strings.ContainsRune(env[k], 0):
			return fmt.Errorf("variable %q contains NUL", k)
		}
	}
	return nil
}

// checkArgs rejects arguments that cannot be passed to a process.
func checkArgs(args []string) error {
	for _, a := range args {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("argument %q contains NUL", a)
		}
	}
	return nil
}
