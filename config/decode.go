package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

const durationHint = "use Go syntax like 90s, 15m, 720h"

var durationType = reflect.TypeFor[time.Duration]()

// decoder fills parts of a Config from YAML nodes or from strings (env and
// flags), collecting a FieldError for every problem instead of stopping at
// the first.
type decoder struct {
	source string // "file PATH", "env", "flag"
	errs   Errors

	// leaf is the dotted key being decoded, once the walk has reached one
	// (decoding a list of rules goes deeper), and leafName is how errors
	// name it: the same, or its environment variable.
	leaf, leafName string
	// failed holds the dotted keys that failed to decode, so validation
	// does not report them, or what they left unset, a second time. set
	// holds the keys given a value.
	failed map[string]bool
	set    map[string]bool
}

// fail records a problem with key, which is spelled as the source spells it.
func (d *decoder) fail(key, format string, args ...any) {
	d.errs = append(d.errs, FieldError{Key: key, Source: d.source, Message: fmt.Sprintf(format, args...)})
	if d.leaf != "" {
		d.failed[d.leaf+strings.TrimPrefix(key, d.leafName)] = true
	}
}

// enter starts decoding the key leaf, named name in errors.
func (d *decoder) enter(leaf, name string) {
	d.leaf, d.leafName = leaf, name
	d.set[leaf] = true
}

func (d *decoder) leave() { d.leaf, d.leafName = "", "" }

// node decodes n into v. A null leaves v as it was, so `storage:` with
// nothing under it, or `listen: ~`, keeps the default.
func (d *decoder) node(key string, n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	switch {
	case isSection(v.Type()):
		if n.Kind != yaml.MappingNode {
			d.fail(key, "expected a mapping of keys, got %s", describe(n))
			return
		}
		d.mapping(key, n, v)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(key, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		for i, c := range n.Content {
			e := reflect.New(v.Type().Elem()).Elem()
			d.node(fmt.Sprintf("%s[%d]", key, i), c, e)
			s = reflect.Append(s, e)
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(key, "expected %s, got %s", kindName(v.Type()), describe(n))
			return
		}
		if msg := setScalar(v, n.Value); msg != "" {
			d.fail(key, "%s", msg)
		}
	}
}

// mapping decodes the keys of n into the struct v, reporting unknown and
// repeated keys by their full dotted name.
func (d *decoder) mapping(key string, n *yaml.Node, v reflect.Value) {
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		full := k.Value
		if key != "" {
			full = key + "." + k.Value
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(key, "a key must be a plain name, got %s (line %d)", describe(k), k.Line)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(full, "given twice (lines %d and %d)", line, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fieldByName(v.Type(), k.Value)
		if !ok {
			d.fail(full, "unknown key")
			continue
		}
		fv := v.FieldByIndex(f.Index)
		if d.leaf != "" || isSection(f.Type) {
			d.node(full, val, fv)
			continue
		}
		if isNull(val) {
			continue // keeps the default
		}
		d.enter(full, full)
		d.node(full, val, fv)
		d.leave()
	}
}

// text decodes the string form used by environment variables and flags:
// lists are comma-separated (an empty string is an empty list), and lists
// of structs (access_control.rules) are a YAML or JSON flow sequence.
func (d *decoder) text(key, raw string, v reflect.Value) {
	switch {
	case v.Kind() == reflect.Slice && isSection(v.Type().Elem()):
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		if strings.TrimSpace(raw) == "" {
			return
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
			d.fail(key, "not a YAML list: %s", yamlMessage(err))
			return
		}
		if len(doc.Content) > 0 {
			d.node(key, doc.Content[0], v)
		}
	case v.Kind() == reflect.Slice:
		var parts []string
		if strings.TrimSpace(raw) != "" {
			parts = strings.Split(raw, ",")
		}
		s := reflect.MakeSlice(v.Type(), 0, len(parts))
		for i, p := range parts {
			e := reflect.New(v.Type().Elem()).Elem()
			if msg := setScalar(e, strings.TrimSpace(p)); msg != "" {
				d.fail(fmt.Sprintf("%s[%d]", key, i), "%s", msg)
			}
			s = reflect.Append(s, e)
		}
		v.Set(s)
	default:
		if msg := setScalar(v, raw); msg != "" {
			d.fail(key, "%s", msg)
		}
	}
}

// setScalar parses raw into v, a string, int, bool, time.Duration or
// netip.Prefix. It returns what is wrong, or "". Every source shares it, so
// a value means the same in the file, the environment and on the command line.
func setScalar(v reflect.Value, raw string) string {
	switch {
	case v.Type() == durationType:
		dur, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Sprintf("%q is not a duration (%s)", raw, durationHint)
		}
		v.SetInt(int64(dur))
	case v.Type() == prefixType:
		p, err := parsePrefix(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Sprintf("%q is not an IP address or CIDR", raw)
		}
		v.Set(reflect.ValueOf(p))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Int:
		i, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Sprintf("%q is not an integer", raw)
		}
		v.SetInt(int64(i))
	case v.Kind() == reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "1":
			v.SetBool(true)
		case "false", "0":
			v.SetBool(false)
		default:
			return fmt.Sprintf("%q is not a boolean (use true or false)", raw)
		}
	default:
		panic("config: no parser for " + v.Type().String())
	}
	return ""
}

// parsePrefix parses a CIDR, or a bare IP as a single-address prefix. Host
// bits are cleared: 10.1.2.3/8 means 10.0.0.0/8.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zone not allowed")
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// isSection reports whether t is a struct of keys rather than a value.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t != prefixType
}

// fieldByName finds the field of struct type t whose key name is name.
func fieldByName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); yamlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func isNull(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	default:
		return strconv.Quote(n.Value)
	}
}

// kindName names what a leaf of type t expects.
func kindName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t == prefixType:
		return "an IP address or CIDR"
	case t.Kind() == reflect.Int:
		return "an integer"
	case t.Kind() == reflect.Bool:
		return "a boolean"
	default:
		return "a string"
	}
}

// yamlMessage drops the "yaml: " prefix the parser puts on its errors.
func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
