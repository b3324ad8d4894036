package hyperlieu_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hyperlieu/hyperlieu"

// The packages of each layer (see the README's layout table). Imports point
// one way: cmd → api, store, demo → areas → root → leaves.
var (
	leaves = []string{"geo", "push", "token", "config", "metrics"}
	areas  = []string{"account", "shop", "campaign", "notify", "fan", "webhook", "audit"}
	root   = []string{""}
)

// allowed lists, for each of our packages, the packages of ours it may import.
func allowed(pkg string) ([]string, bool) {
	cat := func(xs ...[]string) []string { return slices.Concat(xs...) }
	switch {
	case slices.Contains(leaves, pkg), pkg == "geo/geotest", pkg == "push/fcmfake":
		return []string{"geo"}, true // geotest builds geo workloads; nothing else of ours
	case pkg == "":
		return leaves, true
	case slices.Contains(areas, pkg):
		return cat(root, leaves), true
	case pkg == "api":
		return cat(root, areas, leaves), true
	case pkg == "store", pkg == "demo":
		return cat(root, areas, leaves), true
	case strings.HasPrefix(pkg, "cmd/"), pkg == "test":
		return nil, false // anything
	}
	return nil, true // a new package must be placed in a layer first
}

// libraries that live in exactly one package of ours.
var owners = map[string]string{
	"github.com/gofiber/fiber/v3":     "api",
	"github.com/valyala/fasthttp":     "api",
	"go.mongodb.org/mongo-driver/v2":  "store",
	"github.com/FerretDB/FerretDB":    "store",
	"github.com/uber/h3-go/v4":        "geo",
	"firebase.google.com/go/v4":       "push",
	"github.com/golang-jwt/jwt/v5":    "token",
	"github.com/prometheus/client_go": "api,metrics", // metrics: the domain's series, through the areas' Observers
}

// TestImportDirection fails when a package imports against the layout.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath           string
			Imports, TestImports []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		ok, checked := allowed(pkg)
		for _, imp := range p.Imports {
			for lib, owner := range owners {
				if strings.HasPrefix(imp, lib) && !slices.Contains(strings.Split(owner, ","), pkg) && !strings.HasPrefix(pkg, "cmd/") {
					t.Errorf("%s imports %s, which only %s may import", p.ImportPath, imp, owner)
				}
			}
			if !checked || !strings.HasPrefix(imp, module) {
				continue
			}
			ours := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if !slices.Contains(ok, ours) {
				t.Errorf("%s imports %s: against the layout (README, Layout)", p.ImportPath, imp)
			}
		}
	}
}
