package lacop_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lacop/lacop"
)

// TestAuditTypes: AuditTypes lists every Audit… constant declared in
// audit.go, each once, so that a new type cannot be left out of the
// filters that offer them.
func TestAuditTypes(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		v, ok := n.(*ast.ValueSpec)
		if !ok || len(v.Names) != 1 || len(v.Values) != 1 || !strings.HasPrefix(v.Names[0].Name, "Audit") {
			return true
		}
		if lit, ok := v.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			declared = append(declared, s)
		}
		return true
	})
	listed := lacop.AuditTypes()
	if len(declared) < 20 {
		t.Fatalf("found %d Audit… constants in audit.go; want them all", len(declared))
	}
	for _, typ := range declared {
		if n := strings.Count(" "+strings.Join(listed, " ")+" ", " "+typ+" "); n != 1 {
			t.Errorf("AuditTypes() lists %q %d times; want once", typ, n)
		}
	}
	if len(listed) != len(declared) {
		t.Errorf("AuditTypes() has %d types, audit.go declares %d", len(listed), len(declared))
	}
	if !slices.Contains(listed, lacop.AuditPasswordConfirmFailed) {
		t.Errorf("AuditTypes() lacks %q", lacop.AuditPasswordConfirmFailed)
	}
}
