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
// The loader puts the library's definitions in place of that line (a
// library may include others; each goes in once, before the first that
// needs it), so what runs in Redis is one self-contained script, and a
// reader of the script sees where every function it calls comes from. Of a
// library's top-level definitions (local function f… and local NAME = …,
// each with the comment right above it) the script gets only those it
// uses, directly or through another: Redis runs a script's top level on
// every call, and each function defined there costs a closure per call.
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
	fillScript           = script("fill.lua")
	reclaimScript        = script("reclaim.lua")
	removeWaiterScript   = script("remove_waiter.lua")
	setThresholdScript   = script("set_threshold.lua")
	leaseScript          = script("lease.lua")
	approveRequestScript = script("approve_request.lua")
	denyRequestScript    = script("deny_request.lua")
	sweepRequestsScript  = script("sweep_requests.lua")
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
	x := &expansion{fsys: fsys, included: map[string]bool{}, defined: map[string]string{}, at: -1}
	if err := x.expand(&b, file, src, nil); err != nil {
		return "", err
	}
	script := b.String()
	if x.at < 0 {
		return script, nil
	}
	var libs strings.Builder
	for _, d := range x.used(script[x.at:]) {
		libs.WriteString(d.text)
	}
	return script[:x.at] + libs.String() + script[x.at:], nil
}

// includeLine is a script's or library's request for a library.
var includeLine = regexp.MustCompile(`^--@include (lib/[a-z0-9_]+\.lua)$`)

// localFunction finds the functions a file defines, so that no script
// quietly redefines one of its libraries' functions.
var localFunction = regexp.MustCompile(`(?m)^local function ([A-Za-z_][A-Za-z0-9_]*)`)

// topLevelDefinition is the first line of a library's top-level definition.
var topLevelDefinition = regexp.MustCompile(`^local (?:function )?([A-Za-z_][A-Za-z0-9_]*)`)

// identifier finds the names a piece of Lua uses (and some words of its
// strings, which at worst keeps a definition it does not need).
var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// expansion is the state of building one script.
type expansion struct {
	fsys     fs.FS
	included map[string]bool   // libraries already in the script
	defined  map[string]string // function name -> the file that defines it
	defs     []definition      // the libraries' definitions, each after those it may use
	at       int               // where the script's first include line was, or -1
}

// definition is one top-level definition of a library.
type definition struct {
	name string
	text string // with the comment right above it
}

// used returns the definitions code uses, directly or through others, in
// the order of x.defs.
func (x *expansion) used(code string) []definition {
	need := map[string]bool{}
	for _, name := range identifier.FindAllString(stripComments(code), -1) {
		need[name] = true
	}
	keep := make([]bool, len(x.defs))
	for i := len(x.defs) - 1; i >= 0; i-- { // a definition uses only those before it
		if !need[x.defs[i].name] {
			continue
		}
		keep[i] = true
		for _, name := range identifier.FindAllString(stripComments(x.defs[i].text), -1) {
			need[name] = true
		}
	}
	var out []definition
	for i, d := range x.defs {
		if keep[i] {
			out = append(out, d)
		}
	}
	return out
}

// stripComments drops the -- comments of Lua code (and, harmlessly, what
// follows a -- inside a string).
func stripComments(code string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(code, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i] + "\n"
		}
		b.WriteString(line)
	}
	return b.String()
}

// expand writes src, the text of the script file, to b, and gathers the
// definitions of the libraries it includes; where its first include line
// was is noted in x.at. stack lists the files being expanded, outermost
// first, to refuse a cycle.
func (x *expansion) expand(b *strings.Builder, file, src string, stack []string) error {
	inHeader := true
	var comment strings.Builder // a library's comment lines not yet given to a definition
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
			if len(stack) == 0 && x.at < 0 {
				x.at = b.Len()
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
		if len(stack) == 0 {
			b.WriteString(line)
			continue
		}
		// A library: its lines go to its definitions. A comment at the start
		// of a line belongs to the definition right below it; one followed by
		// a blank line is the file's, and goes.
		switch m := topLevelDefinition.FindStringSubmatch(text); {
		case m != nil:
			x.defs = append(x.defs, definition{name: m[1], text: comment.String() + line})
			comment.Reset()
		case strings.HasPrefix(text, "--"):
			comment.WriteString(line)
		case text == "" && comment.Len() > 0:
			comment.Reset()
		case len(x.defs) == 0 && text != "":
			return fmt.Errorf("store: %s: %q is neither a definition nor a comment; a library only defines", file, text)
		case len(x.defs) > 0:
			x.defs[len(x.defs)-1].text += comment.String() + line
			comment.Reset()
		}
	}
	if len(stack) == 0 && !strings.HasSuffix(src, "\n") {
		b.WriteByte('\n')
	}
	if n := len(x.defs); len(stack) > 0 && n > 0 && !strings.HasSuffix(x.defs[n-1].text, "\n") {
		x.defs[n-1].text += "\n"
	}
	for _, m := range localFunction.FindAllStringSubmatch(src, -1) {
		if other, ok := x.defined[m[1]]; ok {
			return fmt.Errorf("store: %s defines %s again; %s has it", file, m[1], other)
		}
		x.defined[m[1]] = file
	}
	return nil
}
