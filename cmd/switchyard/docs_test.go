package main

// The docs are tested: every fenced yaml block in README.md and docs/ is
// loaded through the real config loader, every curl line is checked against
// the OpenAPI description the server serves (the route and the method
// exist, the body fits the request schema), and every config key is in
// docs/config.md. Nothing in the docs can rot in silence.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"switchyard/ingest"
)

// docBlock is a fenced block of a Markdown file.
type docBlock struct {
	file string
	line int // of the opening fence
	lang string
	text string
}

// docFiles are README.md and every Markdown file under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join("..", "..", "README.md")}
	more, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, more, "docs/ has pages")
	return append(files, more...)
}

// fencedBlocks reads the fenced blocks of a Markdown file.
func fencedBlocks(t *testing.T, file string) []docBlock {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var out []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &docBlock{file: file, line: n, lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "%s: a fence opened at line %d is never closed", file, func() int {
		if cur != nil {
			return cur.line
		}
		return 0
	}())
	return out
}

func TestDocsYAMLLoads(t *testing.T) {
	n := 0
	for _, file := range docFiles(t) {
		for _, b := range fencedBlocks(t, file) {
			if b.lang != "yaml" {
				continue
			}
			n++
			t.Run(fmt.Sprintf("%s:%d", filepath.Base(b.file), b.line), func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "show.yaml")
				require.NoError(t, os.WriteFile(p, []byte(b.text), 0o600))
				_, err := LoadConfig(p, nil)
				require.NoError(t, err, "the block at %s:%d does not load:\n%s", b.file, b.line, b.text)
			})
		}
	}
	require.Greater(t, n, 3, "the docs have yaml blocks to check")
}

// curlCall is what a curl line asks for.
type curlCall struct {
	where       string
	method, url string
	body        string // JSON, or "" for none
	binary      string // the content type of a --data-binary body
	jsonType    bool   // the line sends Content-Type: application/json
	posts       bool   // --json: a POST even with no body
}

// shellWords splits a command line as a POSIX shell does for the quoting
// the docs use: single and double quotes, backslash-newline continuations.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++
		case c == '#' && !inWord:
			i = len(s) // a comment to the end of the line
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// curlCalls finds the curl commands of the shell blocks of the docs.
func curlCalls(t *testing.T) []curlCall {
	t.Helper()
	var calls []curlCall
	for _, file := range docFiles(t) {
		for _, b := range fencedBlocks(t, file) {
			if b.lang != "sh" && b.lang != "bash" && b.lang != "shell" {
				continue
			}
			text := strings.ReplaceAll(b.text, "\\\n", " ")
			for i, line := range strings.Split(text, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "curl ") {
					continue
				}
				where := fmt.Sprintf("%s:%d", filepath.Base(file), b.line+1+i)
				words, err := shellWords(line)
				require.NoError(t, err, where)
				calls = append(calls, parseCurl(t, where, words))
			}
		}
	}
	return calls
}

func parseCurl(t *testing.T, where string, words []string) curlCall {
	t.Helper()
	c := curlCall{where: where}
	for i := 1; i < len(words); i++ {
		w := words[i]
		next := func() string {
			require.Less(t, i+1, len(words), "%s: %s needs a value", where, w)
			i++
			return words[i]
		}
		switch {
		case w == "-X" || w == "--request":
			c.method = next()
		case strings.HasPrefix(w, "-X") && len(w) > 2:
			c.method = w[2:]
		case w == "-d" || w == "--data" || w == "--data-raw":
			c.body = next()
		case w == "--json": // POST unless -X says otherwise, even with an empty body
			c.body, c.jsonType, c.posts = next(), true, true
		case w == "--data-binary":
			c.binary = next()
		case w == "-H" || w == "--header":
			h := next()
			k, v, _ := strings.Cut(h, ":")
			if strings.EqualFold(strings.TrimSpace(k), "Content-Type") {
				v = strings.TrimSpace(v)
				if v == "application/json" {
					c.jsonType = true
				} else {
					c.binary = v
				}
			}
		case w == "-o" || w == "--output" || w == "-u" || w == "--user":
			next()
		case strings.HasPrefix(w, "-"):
		default:
			require.Empty(t, c.url, "%s: two URLs", where)
			c.url = w
		}
	}
	require.NotEmpty(t, c.url, "%s: no URL", where)
	if c.method == "" {
		c.method = "GET"
		if c.body != "" || c.binary != "" || c.posts {
			c.method = "POST"
		}
	}
	return c
}

func TestDocsCurlLinesMatchTheAPI(t *testing.T) {
	a, _ := startApp(t, testConfig(t, ingest.SourceConfig{Name: "cam1"}))
	var spec map[string]any
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/openapi.json"), "", &spec))
	paths := spec["paths"].(map[string]any)
	templates := map[string]*regexp.Regexp{}
	for p := range paths {
		re := regexp.QuoteMeta(p)
		re = strings.ReplaceAll(re, `\{path\}`, `.+`) // a catch-all (gin's *path: /hls/{path}) spans folders
		templates[p] = regexp.MustCompile("^" + regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(re, `[^/]+`) + "$")
	}

	calls := curlCalls(t)
	require.Greater(t, len(calls), 20, "the docs have curl lines to check")
	for _, c := range calls {
		raw := c.url
		if !strings.Contains(raw, "://") {
			raw = "http://" + raw
		}
		u, err := url.Parse(raw)
		require.NoError(t, err, c.where)
		var item map[string]any
		for p, re := range templates {
			if re.MatchString(u.Path) {
				item = paths[p].(map[string]any)
			}
		}
		require.NotNil(t, item, "%s: %s is no route of the API", c.where, u.Path)
		op, ok := item[strings.ToLower(c.method)].(map[string]any)
		require.True(t, ok, "%s: %s %s: the route has no such method", c.where, c.method, u.Path)
		reqBody, _ := op["requestBody"].(map[string]any)
		content, _ := reqBody["content"].(map[string]any)
		if c.method != "GET" {
			require.True(t, c.jsonType || c.binary != "", "%s: %s %s: a change is sent as JSON (curl --json '', even with no body): "+
				"the server answers 415 to anything else, which is what keeps pages of other sites from sending it", c.where, c.method, u.Path)
		}
		switch {
		case c.binary != "":
			require.Contains(t, content, c.binary, "%s: %s %s takes no %s body", c.where, c.method, u.Path, c.binary)
		case c.body != "":
			require.True(t, c.jsonType, "%s: a JSON body is sent with Content-Type: application/json (curl --json)", c.where)
			media, ok := content["application/json"].(map[string]any)
			require.True(t, ok, "%s: %s %s takes no JSON body", c.where, c.method, u.Path)
			var v any
			require.NoError(t, json.Unmarshal([]byte(c.body), &v), "%s: the body is not JSON", c.where)
			require.NoError(t, checkSchema(spec, media["schema"].(map[string]any), v, "body"), c.where)
		}
	}
}

// checkSchema validates v against the part of JSON Schema the API's
// description uses: $ref, oneOf, type, properties, additionalProperties,
// items. JSON null is taken anywhere, as the server's decoder takes it.
func checkSchema(spec map[string]any, schema map[string]any, v any, at string) error {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := spec["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %s does not resolve", at, ref)
		}
		return checkSchema(spec, s, v, at)
	}
	if v == nil {
		return nil
	}
	if alts, ok := schema["oneOf"].([]any); ok {
		var errs []string
		for _, alt := range alts {
			if err := checkSchema(spec, alt.(map[string]any), v, at); err == nil {
				return nil
			} else {
				errs = append(errs, err.Error())
			}
		}
		return fmt.Errorf("%s: fits none of %d forms: %s", at, len(alts), strings.Join(errs, "; "))
	}
	switch schema["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %v is not an object", at, v)
		}
		props, _ := schema["properties"].(map[string]any)
		for k, fv := range m {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					return fmt.Errorf("%s: unknown field %q", at, k)
				}
				if extra, ok := schema["additionalProperties"].(map[string]any); ok {
					ps = extra
				} else {
					continue
				}
			}
			if err := checkSchema(spec, ps, fv, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %v is not a list", at, v)
		}
		items, _ := schema["items"].(map[string]any)
		for i, e := range list {
			if err := checkSchema(spec, items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			return fmt.Errorf("%s: %v is not a whole number", at, v)
		}
		if minimum, ok := schema["minimum"].(float64); ok && f < minimum {
			return fmt.Errorf("%s: %v is below %v", at, v, minimum)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: %v is not a number", at, v)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %v is not a string", at, v)
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			return fmt.Errorf("%s: %q does not match %s", at, s, p)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %v is not true or false", at, v)
		}
	}
	return nil
}

// The schema check itself, on bodies it must take and bodies it must refuse.
func TestCheckSchemaCatchesBadBodies(t *testing.T) {
	a, _ := startApp(t, testConfig(t))
	var spec map[string]any
	require.Equal(t, http.StatusOK, api(t, "GET", a.apiURL("/openapi.json"), "", &spec))
	schema := func(path, method string) map[string]any {
		op := spec["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
		return op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
	}
	for _, c := range []struct {
		path, method, body string
		ok                 bool
	}{
		{"/api/v1/keyers", "post", `{"type":"pip","source":"cam2","rect":{"x":1,"y":2,"w":3,"h":4}}`, true},
		{"/api/v1/keyers", "post", `{"type":"pip","rect":{"x":"left"}}`, false},
		{"/api/v1/keyers", "post", `{"type":"pip","colour":"red"}`, false},
		{"/api/v1/sources", "post", `{"name":"a","jitter_buffer_ms":1.5}`, false},
		{"/api/v1/outputs", "post", `{"name":"a","url":"rtmp://h/a/k","video_bitrate":"2500k"}`, true},
		{"/api/v1/outputs", "post", `{"name":"a","url":"rtmp://h/a/k","video_bitrate":2500000}`, true},
		{"/api/v1/outputs", "post", `{"name":"a","url":"rtmp://h/a/k","video_bitrate":"fast"}`, false},
		{"/api/v1/transition/position", "post", `{"position":true}`, false},
	} {
		err := checkSchema(spec, schema(c.path, c.method), decodeAny(t, c.body), "body")
		if c.ok {
			require.NoError(t, err, c.body)
		} else {
			require.Error(t, err, c.body)
		}
	}
}

func decodeAny(t *testing.T, s string) any {
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

// Every key of the show file, and its environment variable, is in
// docs/config.md.
func TestConfigDocNamesEveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	require.NoError(t, err)
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			key := joinKey(prefix, name)
			ft := t.Field(i).Type
			custom := reflect.PointerTo(ft).Implements(reflect.TypeFor[yaml.Unmarshaler]())
			if ft.Kind() == reflect.Struct && !custom {
				walk(ft, key)
				continue
			}
			keys = append(keys, key)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	for _, k := range keys {
		require.Contains(t, string(doc), "`"+k+"`", "docs/config.md names the key %s", k)
	}
	require.Contains(t, string(doc), "`SWITCHYARD_PROGRAM_VIDEO_BITRATE`")
	for _, item := range []reflect.Type{reflect.TypeFor[ingest.SourceConfig](), reflect.TypeFor[OutputConfig]()} {
		for i := 0; i < item.NumField(); i++ {
			name, _, _ := strings.Cut(item.Field(i).Tag.Get("yaml"), ",")
			require.Contains(t, string(doc), "`"+name+"`", "docs/config.md names the %s key %s", item.Name(), name)
		}
	}
	for _, k := range keys {
		if strings.Contains(k, ".") && !strings.Contains(string(doc), envName(k)) {
			// a row may abbreviate a sibling as …_HEIGHT; its own name must be there
			short := "…_" + strings.ToUpper(k[strings.LastIndex(k, ".")+1:])
			require.Contains(t, string(doc), short, "docs/config.md names %s", envName(k))
		}
	}
}
