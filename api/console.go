package api

import (
	"embed"
	"encoding/json"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strings"

	"github.com/gofiber/fiber/v3"
)

// consoleFiles is the web console: plain ES modules, styles and the vendored
// map libraries, all built into the binary so that serving it needs nothing
// else (see docs/console.md).
//
//go:embed console
var consoleFiles embed.FS

// consoleRoutes serve the console at /console/. It is a client of the
// public API like any other: the files are public, the data is not.
func (s *Server) consoleRoutes() []route {
	return []route{
		{method: "GET", path: "/console/*", op: "getConsoleFile", access: public, summary: "The web console for marketers, store managers and admins (HTML, scripts, styles; /console redirects here)",
			content: "text/html", errs: []int{404}, handler: s.getConsoleRoot},
	}
}

// getConsoleRoot handles GET /console/*: /console itself redirects to
// /console/, so that the page's relative links resolve.
func (s *Server) getConsoleRoot(c fiber.Ctx) error {
	if c.Path() != "/console" { // the wildcard matches /console itself too
		return s.getConsoleFile(c)
	}
	return c.Redirect().Status(fiber.StatusPermanentRedirect).To("/console/")
}

// getConsoleFile handles GET /console/*: a file of the console, or its
// settings (config.json) read from the server's configuration.
func (s *Server) getConsoleFile(c fiber.Ctx) error {
	name := c.Params("*")
	if name == "" {
		name = "index.html"
	}
	s.consoleHeaders(c)
	if name == "config.json" {
		c.Set(fiber.HeaderCacheControl, "no-store")
		b, _ := json.Marshal(map[string]any{"tiles": s.opts.ConsoleTiles})
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(b)
	}
	clean := path.Clean("/" + name)[1:]
	b, err := fs.ReadFile(consoleFiles, "console/"+clean)
	if err != nil || strings.HasPrefix(clean, ".") {
		return fiber.ErrNotFound
	}
	ct := mime.TypeByExtension(path.Ext(clean))
	if ct == "" {
		ct = fiber.MIMEOctetStream
	}
	c.Set(fiber.HeaderContentType, ct)
	// The files change only with the binary; a short cache keeps an upgrade
	// visible within a minute while sparing a counter tablet's bandwidth.
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.Send(b)
}

// consoleHeaders forbid everything the console does not need: no script or
// style but its own files, no request but to this origin, except map tiles
// from the one configured origin.
func (s *Server) consoleHeaders(c fiber.Ctx) {
	img := "'self' data: blob:"
	if o := tileOrigin(s.opts.ConsoleTiles); o != "" {
		img += " " + o
	}
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src "+img+
		"; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
}

// tileOrigin returns the scheme and host of an OpenStreetMap-style tile
// template such as https://{s}.tile.example.org/{z}/{x}/{y}.png, with a
// {s} subdomain turned into a wildcard.
func tileOrigin(template string) string {
	if template == "" {
		return ""
	}
	u, err := url.Parse(strings.ReplaceAll(template, "{s}", "subdomain"))
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + strings.Replace(u.Host, "subdomain", "*", 1)
}
