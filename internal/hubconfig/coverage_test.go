package hubconfig

import (
	"os"
	"strings"
	"testing"
)

// TestChartDefaultsCovered: every key of the chart's defaults has a rule
// (its own or an ancestor's), so no z2jh key is ever dropped without a
// word; and every rule names a key the chart has.
func TestChartDefaultsCovered(t *testing.T) {
	var walk func(path string, n *node, covered bool)
	walk = func(path string, n *node, covered bool) {
		if _, ok := z2jhRules[path]; ok {
			covered = true
		}
		if n.kind == kindMap && len(n.keys) > 0 {
			for _, k := range n.keys {
				walk(child(path, k), n.vals[k], covered)
			}
			return
		}
		if !covered {
			t.Errorf("chart key %s has no rule", path)
		}
	}
	d := chartDefaults()
	for _, k := range d.keys {
		walk(k, d.vals[k], false)
	}
	for key := range z2jhRules {
		if key == "hubkit" || key == "auth" {
			continue
		}
		if chartDefaults().lookup(strings.Split(key, ".")...) == nil {
			t.Errorf("rule for %s, which the chart does not have", key)
		}
	}
}

// TestDocCoversRules: the key reference in doc.go names every rule's key.
func TestDocCoversRules(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for key := range z2jhRules {
		if !strings.Contains(text, key) {
			t.Errorf("doc.go's key reference does not mention %s", key)
		}
	}
	for _, m := range singleuserTraits {
		if !strings.Contains(text, m.key) {
			t.Errorf("doc.go's key reference does not mention %s", m.key)
		}
	}
}

// TestChartDefaultsFixture: the embedded defaults are the values.yaml a
// user gets (testdata/z2jh-default-values.yaml), value for value.
func TestChartDefaultsFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/z2jh-default-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(fixture, chartDefaults()) {
		t.Error("chart-defaults.yaml and testdata/z2jh-default-values.yaml differ")
	}
}
