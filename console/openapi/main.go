// Command openapi prints the API's OpenAPI document, built from the route
// table without a database, for console/gen-types.sh.
package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"

	"github.com/hyperlieu/hyperlieu/api"
)

func main() {
	doc := api.New(api.Services{}, api.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil))).OpenAPI()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		os.Exit(1)
	}
}
