package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Source says where to read configuration from. Precedence: Flags >
// Environ > File > defaults.
type Source struct {
	// File is the path of a YAML file; "" means none.
	File string
	// Environ is os.Environ()-style "K=V" entries; only LACOP_* ones are
	// read, and LACOP_TEST_* ones are ignored. If a name appears twice the
	// last one wins, as with os/exec.
	Environ []string
	// Flags are explicit overrides by dotted key, such as
	// {"data_dir": "/x", "storage.driver": "postgres"}; only flags the user
	// actually set. Values are parsed as for environment variables.
	Flags map[string]string
}

// envPrefix starts every variable lacop reads; envIgnore starts those it
// leaves alone without a warning (tests use them for other things).
const (
	envPrefix = "LACOP_"
	envIgnore = "LACOP_TEST_"
)

// Load reads the file, then the environment, then the flags, each
// overriding the one before, fills in the defaults of OpenID Connect
// clients, and validates the result. On any problem it returns a *Errors
// with every problem found, each naming its key and source. The warnings
// name LACOP_* environment variables that match no key, and client secrets
// written in plain text.
func Load(src Source) (Config, []string, error) {
	cfg := Default()
	v := reflect.ValueOf(&cfg).Elem()
	var (
		errs    Errors
		origins = make(map[string]string) // key → the source that set it last
		failed  = make(map[string]bool)
	)
	newDecoder := func(source string) *decoder {
		return &decoder{source: source, failed: failed, set: make(map[string]bool)}
	}
	record := func(d *decoder) {
		errs = append(errs, d.errs...)
		for k := range d.set {
			origins[k] = d.source
		}
	}

	if src.File != "" {
		d := newDecoder("file " + src.File)
		d.file(src.File, v)
		record(d)
	}

	table := make(map[string]leaf)
	for _, l := range leaves() {
		table[l.key] = l
	}

	d := newDecoder("env")
	warnings := d.environ(src.Environ, table, v)
	record(d)

	d = newDecoder("flag")
	d.flags(src.Flags, table, v)
	record(d)

	if origins["public_url"] == "" {
		cfg.followListen()
	}
	cfg.OIDC.applyDefaults()

	for _, p := range cfg.problems() {
		if fe, ok := attribute(p, origins, failed); ok {
			errs = append(errs, fe)
		}
	}
	for _, p := range cfg.OIDC.warnings() {
		if fe, ok := attribute(p, origins, failed); ok {
			warnings = append(warnings, fe.Error())
		}
	}
	if len(errs) > 0 {
		return Config{}, warnings, &errs
	}
	return cfg, warnings, nil
}

// file decodes the YAML file at path into v.
func (d *decoder) file(path string, v reflect.Value) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		d.fail("", "file does not exist")
		return
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		d.fail("", "cannot read file: %v", err)
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.fail("", "not valid YAML: %s", yamlMessage(err))
		return
	}
	if len(doc.Content) == 0 { // empty, or only comments
		return
	}
	root := doc.Content[0]
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.fail("", "expected a mapping of keys at the top, got %s (line %d)", describe(root), root.Line)
		return
	}
	d.mapping("", root, v)
}

// environ applies the LACOP_* entries of environ to v, returning a warning
// for each that matches no key.
func (d *decoder) environ(environ []string, table map[string]leaf, v reflect.Value) []string {
	byEnv := make(map[string]leaf, len(table))
	for _, l := range table {
		byEnv[EnvName(l.key)] = l
	}
	values := make(map[string]string)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || strings.HasPrefix(name, envIgnore) {
			continue
		}
		values[name] = value
	}
	var warnings []string
	for _, name := range sortedKeys(values) {
		l, ok := byEnv[name]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("%s: matches no config key; ignored [env]", name))
			continue
		}
		d.enter(l.key, name)
		d.text(name, values[name], v.FieldByIndex(l.index))
		d.leave()
	}
	return warnings
}

// flags applies explicit overrides by dotted key to v.
func (d *decoder) flags(flags map[string]string, table map[string]leaf, v reflect.Value) {
	for _, key := range sortedKeys(flags) {
		l, ok := table[key]
		if !ok {
			d.fail(key, "unknown key")
			continue
		}
		d.enter(key, key)
		d.text(key, flags[key], v.FieldByIndex(l.index))
		d.leave()
	}
}

// attribute turns a validation problem into a FieldError that names the
// key as its source spelled it. A problem between two keys is put on the
// one the user set, if only one was. It reports false for a problem with a
// key that failed to decode (or with a part of one), reported then already.
func attribute(p problem, origins map[string]string, failed map[string]bool) (FieldError, bool) {
	if failedWithin(p.key, failed) || (p.also != "" && failedWithin(p.also, failed)) {
		return FieldError{}, false
	}
	key, msg := p.key, p.msg
	leafKey := leafOf(key)
	if origins[leafKey] == "" && p.also != "" && origins[leafOf(p.also)] != "" {
		key, msg, leafKey = p.also, p.alsoMsg, leafOf(p.also)
	}
	source := origins[leafKey]
	switch source {
	case "":
		source = "default"
	case "env":
		key = EnvName(leafKey) + strings.TrimPrefix(key, leafKey)
	}
	return FieldError{Key: key, Source: source, Message: msg}, true
}

// failedWithin reports whether key, or what holds it, failed to decode:
// access_control.rules[0].domain is within access_control.rules[0].
func failedWithin(key string, failed map[string]bool) bool {
	for i := range len(key) + 1 {
		if (i == len(key) || key[i] == '.' || key[i] == '[') && failed[key[:i]] {
			return true
		}
	}
	return false
}

// leafOf strips list indexes and rule fields from a problem's key:
// access_control.rules[0].policy → access_control.rules.
func leafOf(key string) string {
	if i := strings.IndexByte(key, '['); i >= 0 {
		return key[:i]
	}
	return key
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
