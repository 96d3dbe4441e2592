package control

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/gin-gonic/gin"
)

// The panel: plain HTML, CSS and a JavaScript module, embedded in the
// binary. The files hold nothing secret; everything they show comes from
// /api, which the token guards.
//
//go:embed panel
var panelFiles embed.FS

type asset struct {
	body  []byte
	ctype string
	etag  string
}

func loadPanel() map[string]asset {
	out := map[string]asset{}
	_ = fs.WalkDir(panelFiles, "panel", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := panelFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path.Base(p)] = asset{body: b, ctype: mime.TypeByExtension(path.Ext(p)), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return out
}

// panelRoutes serves the panel at / and its files under /panel/, revalidated
// by ETag so a new binary's panel is picked up at once.
// It returns the files, for the other pages made of them (/watch).
func (s *Server) panelRoutes(r *gin.Engine) map[string]asset {
	files := loadPanel()
	serve := func(c *gin.Context, name string) {
		a, ok := files[name]
		if !ok {
			fail(c, notFound("no panel file %q", name))
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.Header("ETag", a.etag)
		if c.GetHeader("If-None-Match") == a.etag {
			c.Status(http.StatusNotModified)
			return
		}
		c.Data(http.StatusOK, a.ctype, a.body)
	}
	r.GET("/", func(c *gin.Context) { serve(c, "index.html") })
	r.GET("/panel/*file", func(c *gin.Context) { serve(c, path.Base(c.Param("file"))) })
	return files
}
