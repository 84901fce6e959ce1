package profiles_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hubkit/hubkit/profiles"
)

// The Spark demo's profileList, pasted from its values.yaml: the form the
// user submits resolves to one override for spawner.Request.Override.
func Example() {
	list, err := profiles.Parse([]byte(`
- display_name: "Default"
  description: "Default profile"
  default: true
  profile_options:
    cpu:
      display_name: CPU
      choices:
        "2": {display_name: "2", kubespawner_override: {cpu_guarantee: 2, cpu_limit: 2}}
        "4": {display_name: "4", kubespawner_override: {cpu_guarantee: 4, cpu_limit: 4}}
    memory:
      display_name: Memory
      choices:
        "4 GB": {display_name: "4 GB", kubespawner_override: {mem_guarantee: "4G", mem_limit: "4G"}}
        "8 GB": {display_name: "8 GB", kubespawner_override: {mem_guarantee: "8G", mem_limit: "8G"}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// What the browser posts from list.Form(...):
	form := url.Values{
		"profile":                        {"default"},
		"profile-option-default--cpu":    {"4"},
		"profile-option-default--memory": {"8 GB"},
	}
	sel, err := profiles.ParseForm(form)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := list.Resolve(profiles.User{Name: "alice"}, sel, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	override, _ := json.Marshal(res.Override)
	userOptions, _ := json.Marshal(res.Selection)
	fmt.Println("override:", string(override))
	fmt.Println("user_options:", string(userOptions))
	// Output:
	// override: {"cpu_guarantee":4,"cpu_limit":4,"mem_guarantee":"8G","mem_limit":"8G"}
	// user_options: {"cpu":"4","memory":"8 GB","profile":"default"}
}

// Profiles switched on and off by deployment settings, as buun-stack does
// with JUPYTER_PROFILE_<NAME>_ENABLED variables (only datascience is on by
// default). The list stays a plain KubeSpawner profileList; the switch is
// a filter. In a real main, getenv is os.Getenv.
func Example_envSwitches() {
	list, err := profiles.Parse([]byte(`
- {display_name: Minimal, slug: minimal, kubespawner_override: {image: "localhost:30500/minimal:python-3.12-28"}}
- {display_name: Data science, slug: datascience, kubespawner_override: {image: "localhost:30500/datascience:python-3.12-28"}}
- {display_name: PySpark, slug: pyspark, kubespawner_override: {image: "localhost:30500/pyspark:python-3.12-28"}}
- {display_name: Buun-stack, slug: buun-stack, kubespawner_override: {image: "localhost:30500/buun-stack:python-3.12-28"}}
- display_name: Buun-stack CUDA
  slug: buun-stack-cuda
  kubespawner_override:
    image: "localhost:30500/buun-stack-cuda:python-3.12-28"
    extra_resource_limits: {nvidia.com/gpu: "1"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	env := map[string]string{ // the deployment's .env.local
		"JUPYTER_PROFILE_BUUN_STACK_ENABLED":  "true",
		"JUPYTER_PROFILE_PYSPARK_ENABLED":     "true",
		"JUPYTER_PROFILE_DATASCIENCE_ENABLED": "false",
	}
	getenv := func(k string) string { return env[k] }
	enabledByDefault := map[string]bool{"datascience": true}

	enabled := list.Filter(func(p *profiles.Profile) bool {
		name := "JUPYTER_PROFILE_" + strings.ToUpper(strings.ReplaceAll(p.Slug, "-", "_")) + "_ENABLED"
		switch getenv(name) {
		case "true":
			return true
		case "false":
			return false
		}
		return enabledByDefault[p.Slug]
	})
	for _, p := range enabled.Profiles() {
		fmt.Println(p.Slug, p.Override["image"])
	}
	fmt.Println("default:", enabled.Default().Slug)
	// Output:
	// pyspark localhost:30500/pyspark:python-3.12-28
	// buun-stack localhost:30500/buun-stack:python-3.12-28
	// default: pyspark
}

// Per-group access with the hubkit keys allowed_groups and allowed_users.
func ExampleList_For() {
	list, err := profiles.Parse([]byte(`
- display_name: CPU
- display_name: GPU
  allowed_groups: [ml-engineers]
  profile_options:
    gpus:
      choices:
        "1": {}
        "4": {allowed_users: [carol], kubespawner_override: {extra_resource_limits: {nvidia.com/gpu: "4"}}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range []profiles.User{
		{Name: "alice"},
		{Name: "bob", Groups: []string{"ml-engineers"}},
		{Name: "carol", Groups: []string{"ml-engineers"}},
	} {
		var offered []string
		for _, p := range list.For(u).Profiles() {
			entry := p.Slug
			for _, o := range p.Options {
				for _, c := range o.Choices {
					entry += " " + o.Key + "=" + c.Key
				}
			}
			offered = append(offered, entry)
		}
		fmt.Printf("%s: %s\n", u.Name, strings.Join(offered, ", "))
	}
	// An API call cannot select what the form does not show.
	_, err = list.Resolve(profiles.User{Name: "alice"}, profiles.Selection{Profile: "gpu"}, nil)
	fmt.Println(errors.Is(err, profiles.ErrNotAllowed), err)
	// Output:
	// alice: cpu
	// bob: cpu, gpu gpus=1
	// carol: cpu, gpu gpus=1 gpus=4
	// true profiles: profile "gpu": the profile is not available to user "alice"
}

// A free-form value (unlisted_choice) is checked against validation_regex
// and substituted for {value}.
func ExampleList_Resolve() {
	list, err := profiles.Parse([]byte(`
- display_name: Bring your own image
  slug: byoi
  profile_options:
    image:
      display_name: Image
      unlisted_choice:
        enabled: true
        validation_regex: '^pangeo/.*$'
        validation_message: Must be a pangeo image, matching ^pangeo/.*$
        kubespawner_override:
          image: "{value}"
          environment: {CUSTOM_IMAGE: "{value}", LITERAL: "{{value}}"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	u := profiles.User{Name: "alice"}
	for _, options := range []string{
		`{"profile": "byoi", "image--unlisted-choice": "pangeo/pangeo-notebook:2024.06.02"}`,
		`{"profile": "byoi", "image--unlisted-choice": "evil/miner:latest"}`,
	} {
		sel, err := profiles.ParseUserOptions([]byte(options))
		if err != nil {
			fmt.Println(err)
			continue
		}
		res, err := list.Resolve(u, sel, nil)
		var se *profiles.SelectionError
		if errors.As(err, &se) {
			fmt.Println("refused:", se.Message)
			continue
		}
		override, _ := json.Marshal(res.Override)
		fmt.Println(string(override))
	}
	// Output:
	// {"environment":{"CUSTOM_IMAGE":"pangeo/pangeo-notebook:2024.06.02","LITERAL":"{value}"},"image":"pangeo/pangeo-notebook:2024.06.02"}
	// refused: "evil/miner:latest" is not valid: Must be a pangeo image, matching ^pangeo/.*$
}

func ExampleSlugify() {
	for _, name := range []string{"Default", "Small (2 CPU, 4 GB)", "Größe L", "Training Env - Python"} {
		fmt.Printf("%q -> %s\n", name, profiles.Slugify(name))
	}
	// Output:
	// "Default" -> default
	// "Small (2 CPU, 4 GB)" -> small-2-cpu-4-gb
	// "Größe L" -> grosse-l
	// "Training Env - Python" -> training-env-python
}

func ExampleMerge() {
	config := map[string]any{
		"cpu_limit":     1,
		"node_selector": map[string]any{"hub.jupyter.org/node-purpose": "user"},
	}
	merged := profiles.Merge(config, map[string]any{
		"cpu_limit":     8,
		"node_selector": map[string]any{"hub.jupyter.org/node-purpose": nil, "gpu": "a100"},
	})
	out, _ := json.Marshal(merged)
	fmt.Println(string(out))
	// Output:
	// {"cpu_limit":8,"node_selector":{"gpu":"a100"}}
}
