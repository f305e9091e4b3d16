package store_test

import (
	"encoding/json"
	"io/fs"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/autoclaim/autoclaim/internal/redistest"
	"github.com/autoclaim/autoclaim/store"
)

func TestExpandScript(t *testing.T) {
	libs := fstest.MapFS{
		"lua/lib/a.lua":     {Data: []byte("-- a\nlocal function a() return 1 end\n")},
		"lua/lib/b.lua":     {Data: []byte("-- b, on a\n--@include lib/a.lua\nlocal function b() return a() + 1 end\n")},
		"lua/lib/loop.lua":  {Data: []byte("--@include lib/loop2.lua\n")},
		"lua/lib/loop2.lua": {Data: []byte("--@include lib/loop.lua\n")},
		"lua/lib/ab.lua": {Data: []byte("-- The file's comment.\n\nlocal function a() return 1 end\n-- b, on a\nlocal function b()\n  -- inside\n  return a() + 1\nend\n\n" +
			"-- c, unused\nlocal function c() return 3 end\nlocal UNUSED = {'x'}\n")},
		"lua/lib/code.lua": {Data: []byte("-- c\nredis.call('DEL', 'x')\n")},
	}
	tests := []struct {
		name, src string
		want      string // the expanded script, or "" when it is refused
		refusal   string // words of the refusal
	}{
		{"NoLibraries", "-- s\nreturn 1\n", "-- s\nreturn 1\n", ""},
		{"Library", "-- s\n--@include lib/a.lua\nreturn a()\n",
			"-- s\n-- a\nlocal function a() return 1 end\nreturn a()\n", ""},
		{"EachLibraryOnce", "-- s\n--@include lib/a.lua\n--@include lib/b.lua\n--@include lib/a.lua\nreturn b()\n",
			"-- s\n-- a\nlocal function a() return 1 end\n-- b, on a\nlocal function b() return a() + 1 end\nreturn b()\n", ""},
		{"LibraryOfLibraryFirst", "--@include lib/b.lua\nreturn b()",
			"-- a\nlocal function a() return 1 end\n-- b, on a\nlocal function b() return a() + 1 end\nreturn b()\n", ""},
		{"OnlyWhatIsUsed", "-- s\n--@include lib/ab.lua\nlocal x = b()\nreturn x -- not c()\n",
			"-- s\nlocal function a() return 1 end\n-- b, on a\nlocal function b()\n  -- inside\n  return a() + 1\nend\n\nlocal x = b()\nreturn x -- not c()\n", ""},
		{"ErrCodeInALibrary", "--@include lib/code.lua\nreturn 1\n", "", "neither a definition nor a comment"},
		{"ErrMissingLibrary", "--@include lib/nope.lua\nreturn 1\n", "", "lib/nope.lua"},
		{"ErrNotAnInclude", "--@import lib/a.lua\nreturn 1\n", "", "not an include line"},
		{"ErrIncludeAfterCode", "local x = 1\n--@include lib/a.lua\nreturn x\n", "", "header"},
		{"ErrCycle", "--@include lib/loop.lua\nreturn 1\n", "", "cycle"},
		{"ErrRedefinesALibraryFunction", "--@include lib/a.lua\nlocal function a() return 2 end\nreturn a()\n", "", "defines a again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"lua/s.lua": {Data: []byte(tt.src)}}
			for name, f := range libs {
				fsys[name] = f
			}
			got, err := store.ExpandScript(fsys, "lua/s.lua")
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("ExpandScript = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.refusal) {
				t.Fatalf("ExpandScript = %q, %v; want an error about %q", got, err, tt.refusal)
			}
		})
	}
}

// TestScriptsShareTheirLibraries: every script of lua/ loads with its
// libraries, the records are written by the codec library only, and every
// event goes through the one emit.
func TestScriptsShareTheirLibraries(t *testing.T) {
	names, err := fs.Glob(store.LuaFiles, "lua/*.lua")
	if err != nil || len(names) < 10 {
		t.Fatalf("scripts: %v, %v", names, err)
	}
	for _, name := range names {
		src, err := store.ScriptSource(strings.TrimPrefix(name, "lua/"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(src, "--@include") {
			t.Errorf("%s still holds an include line once expanded", name)
		}
		// Streams are appended to by emit (events) and log_claim (a policy's
		// claims) of lib/events.lua and audit (the audit log) of
		// lib/audit.lua only, each defined once.
		appenders := 0
		for _, f := range []string{"emit", "log_claim", "audit"} {
			n := strings.Count(src, "local function "+f+"(")
			if n > 1 {
				t.Errorf("%s defines %s %d times", name, f, n)
			}
			appenders += n
		}
		if n := strings.Count(src, "'XADD'"); n != appenders {
			t.Errorf("%s appends to streams %d times outside emit, log_claim and audit", name, n-appenders)
		}
		raw, _ := fs.ReadFile(store.LuaFiles, name)
		for _, sep := range []string{"'\\31'", "'|'", "';'", "'='"} {
			if strings.Contains(string(raw), ".. "+sep+" ..") {
				t.Errorf("%s joins a record with %s itself; records are written by lib/codec.lua", name, sep)
			}
		}
	}
	days := 0
	for _, dir := range []string{"lua/*.lua", "lua/lib/*.lua"} {
		files, _ := fs.Glob(store.LuaFiles, dir)
		for _, name := range files {
			src, _ := fs.ReadFile(store.LuaFiles, name)
			days += strings.Count(string(src), "86400000")
		}
	}
	if days != 1 {
		t.Errorf("the scripts write the length of a day %d times; want it named once (DAY_MS)", days)
	}
}

// TestEveryScriptFailureHasAMeaning: each failure a script answers with
// ("AC:<REASON>") has its domain error in the one table, but those only a
// bug can cause (a server that sent products it had not checked, a record
// that does not decode), which are internal errors.
func TestEveryScriptFailureHasAMeaning(t *testing.T) {
	internal := map[string]bool{"BAD_PRODUCTS": true, "BAD_RECORD": true}
	reasons := regexp.MustCompile(`'AC:([A-Z_]+)`)
	files, _ := fs.Glob(store.LuaFiles, "lua/*.lua")
	libs, _ := fs.Glob(store.LuaFiles, "lua/lib/*.lua")
	seen := 0
	for _, name := range append(files, libs...) {
		src, _ := fs.ReadFile(store.LuaFiles, name)
		for _, m := range reasons.FindAllStringSubmatch(string(src), -1) {
			seen++
			if !internal[m[1]] && !store.HasScriptFailure(m[1]) {
				t.Errorf("%s answers AC:%s, which the failure table does not know", name, m[1])
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found %d failure replies in the scripts; the pattern misses them", seen)
	}
}

// TestJSONRepliesReadAlikeOnBothEngines: a script's named reply, a JSON
// object of strings (see scripts.go), reads the same from gopher-lua's and
// Redis's cjson, whatever order or escaping each writes, by the store's
// reader and by encoding/json.
func TestJSONRepliesReadAlikeOnBothEngines(t *testing.T) {
	want := map[string]string{"kind": "OK", "reason": "", "event": "1764147600123-7", "at": "1764147600123",
		"big": "18446744073709551615", "license": "A|1|1764147600123|" + planExchange + "," + planFlowCDS + "|FLOW_PER_USER",
		"slash": "a/b", "sku": "Microsoft_365_E3_(no_Teams)+/x", "quote": `say "hi" \ back`, "accent": "Zoë 名"}
	redistest.Each(t, func(t *testing.T, b *redistest.Backend) {
		args := []any{}
		for k, v := range want {
			args = append(args, k, v)
		}
		reply := luaText(t, b, `local reply = {}
for i = 1, #ARGV, 2 do reply[ARGV[i]] = ARGV[i + 1] end
reply.absent = nil
return cjson.encode(reply)`, args...)
		var got map[string]string
		if err := json.Unmarshal([]byte(reply), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("reply %s read as %v (%v); want %v", reply, got, err, want)
		}
		ours := map[string]string{}
		if err := store.ReadReply(reply, func(name, v string) { ours[name] = v }); err != nil || !reflect.DeepEqual(ours, want) {
			t.Fatalf("reply %s read by the store as %v (%v); want %v", reply, ours, err, want)
		}
	})
}

func TestReadReply(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want map[string]string // nil: malformed
	}{
		{`{}`, map[string]string{}},
		{` { "a" : "1" , "b":"" } `, map[string]string{"a": "1", "b": ""}},
		{`{"s":"a\/b\"c\\d\n\t\u00e9\ud83d\ude00"}`, map[string]string{"s": "a/b\"c\\d\n\té😀"}},
		{``, nil}, {`[]`, nil}, {`{"a":1}`, nil}, {`{"a":"1",}`, nil}, {`{"a":"1"} x`, nil}, {`{"a":"1"`, nil},
		{`{"a":"\x"}`, nil}, {`{"a":"\u12"}`, nil}, {"{\"a\":\"\x01\"}", nil}, {`{"a" "1"}`, nil}, {`{"a":"1" "b":"2"}`, nil},
	} {
		got := map[string]string{}
		err := store.ReadReply(tt.in, func(name, v string) { got[name] = v })
		if tt.want == nil {
			if err == nil {
				t.Errorf("ReadReply(%q) = %v; want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ReadReply(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
