package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTestsCheckWhatTheyCall reads this package's test files and fails when
// a test drops the status of an API call (a bare `api(t, …)` statement, or
// `_ = api(…)`: a refused request then surfaces later, blamed elsewhere), or
// closes a show it started with a bare `x.Close()` (a Close that hangs holds
// the binary until the suite's timeout; closeApp bounds it and prints the
// stacks). Use mustAPI, compare api's status, or closeApp.
func TestTestsCheckWhatTheyCall(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	fset := token.NewFileSet()
	var problems []string
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		problems = append(problems, droppedStatuses(fset, f)...)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			problems = append(problems, unboundedCloses(fset, fn)...)
		}
	}
	require.Empty(t, problems, "check the status of every API call (mustAPI, or compare api's result) and close a started show with closeApp")
}

// droppedStatuses finds the calls of api whose status is thrown away.
func droppedStatuses(fset *token.FileSet, f *ast.File) []string {
	var out []string
	isAPI := func(e ast.Expr) bool {
		c, ok := e.(*ast.CallExpr)
		if !ok {
			return false
		}
		id, ok := c.Fun.(*ast.Ident)
		return ok && id.Name == "api"
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.ExprStmt:
			if isAPI(s.X) {
				out = append(out, fset.Position(s.Pos()).String()+": api(…) with its status dropped")
			}
		case *ast.GoStmt:
			if isAPI(s.Call) {
				out = append(out, fset.Position(s.Pos()).String()+": go api(…) with its status dropped")
			}
		case *ast.DeferStmt:
			if isAPI(s.Call) {
				out = append(out, fset.Position(s.Pos()).String()+": defer api(…) with its status dropped")
			}
		case *ast.AssignStmt:
			for i, r := range s.Rhs {
				if !isAPI(r) || i >= len(s.Lhs) {
					continue
				}
				if id, ok := s.Lhs[i].(*ast.Ident); ok && id.Name == "_" {
					out = append(out, fset.Position(s.Pos()).String()+": _ = api(…)")
				}
			}
		}
		return true
	})
	return out
}

// starters are the helpers that start a show in-process.
var starters = map[string]bool{"start": true, "startApp": true, "startAppUDP": true}

// unboundedCloses finds, in one test, `x.Close()` (plain or deferred) on a
// name that holds a show from one of the starters.
func unboundedCloses(fset *token.FileSet, fn *ast.FuncDecl) []string {
	shows := map[string]bool{}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		s, ok := n.(*ast.AssignStmt)
		if !ok || len(s.Rhs) != 1 || len(s.Lhs) == 0 {
			return true
		}
		c, ok := s.Rhs[0].(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := c.Fun.(*ast.Ident); ok && starters[id.Name] {
			if v, ok := s.Lhs[0].(*ast.Ident); ok && v.Name != "_" {
				shows[v.Name] = true
			}
		}
		return true
	})
	var out []string
	isShowClose := func(e ast.Expr) bool {
		c, ok := e.(*ast.CallExpr)
		if !ok || len(c.Args) != 0 {
			return false
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Close" {
			return false
		}
		id, ok := sel.X.(*ast.Ident)
		return ok && shows[id.Name]
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.ExprStmt:
			if isShowClose(s.X) {
				out = append(out, fset.Position(s.Pos()).String()+": "+fn.Name.Name+" closes its show unbounded")
			}
		case *ast.DeferStmt:
			if isShowClose(s.Call) {
				out = append(out, fset.Position(s.Pos()).String()+": "+fn.Name.Name+" defers an unbounded Close of its show")
			}
		}
		return true
	})
	return out
}
