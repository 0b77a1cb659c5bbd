package lacop_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lacop/lacop"
)

// TestAuditTypesComplete: every string constant named Audit… in the root
// package is in AuditTypes, once, so a type added later cannot be refused
// by lacop audit --type.
func TestAuditTypesComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	listed := lacop.AuditTypes()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Audit") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				found++
				if n := countOf(listed, v); n != 1 {
					t.Errorf("%s = %q is listed %d times in AuditTypes; want once", name.Name, v, n)
				}
			}
			return true
		})
	}
	if found != len(listed) {
		t.Errorf("%d Audit constants, %d listed types", found, len(listed))
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
