package store

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Every file of lua/ is a script, and every file of lua/lib/ a library that
// scripts include. A script names the libraries it uses in its header, one
// line each, before its first line of code:
//
//	--@include lib/codec.lua
//
// The loader puts the library's text in place of that line (a library may
// include others; each goes in once, before the first that needs it), so
// what runs in Redis is one self-contained script, and a reader of the
// script sees where every function it calls comes from.
//
// Scripts that answer more than a status answer a JSON object
// (cjson.encode) with every value a string, read by name. Not a RESP3 map
// (redis.setresp(3) and a {map = …} table): miniredis, whose Lua is
// gopher-lua, answers such a table as an empty array, while Redis 7 answers
// a map. cjson runs on both (gopher-json on miniredis) and both decode to
// the same values, provided the object holds only non-empty strings and
// tables: the two encode numbers differently (Redis with 14 significant
// digits, which rounds 64-bit values) and an empty table as [] or {}, and
// they escape invalid UTF-8 differently, which is why no free text goes into
// a reply.
//
//go:embed lua
var luaFiles embed.FS

// scripts holds every script of lua/, by file name, as loadScripts built them.
var scripts = mustLoadScripts(luaFiles)

// The scripts; each file's header lists its KEYS, ARGV and reply.
var (
	createTenantScript   = script("create_tenant.lua")
	setEnabledScript     = script("set_enabled.lua")
	setPolicyLimitScript = script("set_policy_limit.lua")
	addProductScript     = script("add_product.lua")
	setQuantityScript    = script("set_quantity.lua")
	createUserScript     = script("create_user.lua")
	assignLicenseScript  = script("assign_license.lua")
	removeLicenseScript  = script("remove_license.lua")
	createPolicyScript   = script("create_policy.lua")
	updatePolicyScript   = script("update_policy.lua")
	deletePolicyScript   = script("delete_policy.lua")
	claimScript          = script("claim.lua")
)

// allScripts is every script of lua/, in the order of their file names, for
// loading into Redis's script cache.
var allScripts = func() []*redis.Script {
	names := make([]string, 0, len(scripts))
	for name := range scripts {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]*redis.Script, len(names))
	for i, name := range names {
		out[i] = scripts[name]
	}
	return out
}()

// script returns the script of a file of lua/; it panics when there is none.
func script(name string) *redis.Script {
	sc, ok := scripts[name]
	if !ok {
		panic(fmt.Sprintf("store: no script lua/%s", name))
	}
	return sc
}

func mustLoadScripts(fsys fs.FS) map[string]*redis.Script {
	out, err := loadScripts(fsys)
	if err != nil {
		panic(err)
	}
	return out
}

// loadScripts builds every script of lua/ in fsys, its libraries included.
func loadScripts(fsys fs.FS) (map[string]*redis.Script, error) {
	files, err := fs.Glob(fsys, "lua/*.lua")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*redis.Script, len(files))
	for _, file := range files {
		src, err := expandScript(fsys, file)
		if err != nil {
			return nil, err
		}
		out[path.Base(file)] = redis.NewScript(src)
	}
	return out, nil
}

// expandScript returns the text of a script of fsys with its libraries in
// place of their include lines.
func expandScript(fsys fs.FS, file string) (string, error) {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return expandSource(fsys, file, string(src))
}

// expandSource is expandScript for the text src of a script named file.
func expandSource(fsys fs.FS, file, src string) (string, error) {
	var b strings.Builder
	x := &expansion{fsys: fsys, included: map[string]bool{}, defined: map[string]string{}}
	if err := x.expand(&b, file, src, nil); err != nil {
		return "", err
	}
	return b.String(), nil
}

// includeLine is a script's or library's request for a library.
var includeLine = regexp.MustCompile(`^--@include (lib/[a-z0-9_]+\.lua)$`)

// localFunction finds the functions a file defines, so that no script
// quietly redefines one of its libraries' functions.
var localFunction = regexp.MustCompile(`(?m)^local function ([A-Za-z_][A-Za-z0-9_]*)`)

// expansion is the state of building one script.
type expansion struct {
	fsys     fs.FS
	included map[string]bool   // libraries already in the script
	defined  map[string]string // function name -> the file that defines it
}

// expand writes src, the text of file, to b, each library it includes
// written in place of its include line. stack lists the files being
// expanded, outermost first, to refuse a cycle.
func (x *expansion) expand(b *strings.Builder, file, src string, stack []string) error {
	inHeader := true
	for _, line := range strings.SplitAfter(src, "\n") {
		text := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(text, "--@") {
			m := includeLine.FindStringSubmatch(text)
			if m == nil {
				return fmt.Errorf("store: %s: %q is not an include line (--@include lib/<name>.lua)", file, text)
			}
			lib := "lua/" + m[1]
			switch {
			case !inHeader:
				return fmt.Errorf("store: %s: %q comes after the first line of code; includes go in the header", file, text)
			case lib == file || slices.Contains(stack, lib):
				return fmt.Errorf("store: %s: including %s makes a cycle", file, m[1])
			}
			if x.included[lib] {
				continue
			}
			x.included[lib] = true
			libSrc, err := fs.ReadFile(x.fsys, lib)
			if err != nil {
				return fmt.Errorf("store: %s: %q: %w", file, text, err)
			}
			if err := x.expand(b, lib, string(libSrc), append(stack, file)); err != nil {
				return err
			}
			continue
		}
		if text != "" && !strings.HasPrefix(text, "--") {
			inHeader = false
		}
		b.WriteString(line)
	}
	if !strings.HasSuffix(src, "\n") {
		b.WriteByte('\n')
	}
	for _, m := range localFunction.FindAllStringSubmatch(src, -1) {
		if other, ok := x.defined[m[1]]; ok {
			return fmt.Errorf("store: %s defines %s again; %s has it", file, m[1], other)
		}
		x.defined[m[1]] = file
	}
	return nil
}
