package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/autoclaim/autoclaim/auth"
	"github.com/autoclaim/autoclaim/internal/redistest"
)

// undescribed lists, as "Type.field(arg:)" paths, every name of the schema
// that a client can see and that has no description: types, scalars, fields,
// arguments, input fields, enum values, directives and their arguments.
// Names the GraphQL spec itself defines (String, @skip, __Type…) are not ours.
func undescribed(s *ast.Schema) []string {
	var out []string
	missing := func(desc, path string) {
		if strings.TrimSpace(desc) == "" {
			out = append(out, path)
		}
	}
	args := func(owner string, list ast.ArgumentDefinitionList) {
		for _, a := range list {
			missing(a.Description, owner+"("+a.Name+":)")
		}
	}
	for name, def := range s.Types {
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		missing(def.Description, name)
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue // __schema, __type, __typename
			}
			missing(f.Description, name+"."+f.Name)
			args(name+"."+f.Name, f.Arguments)
		}
		for _, v := range def.EnumValues {
			missing(v.Description, name+"."+v.Name)
		}
	}
	for name, d := range s.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		missing(d.Description, "@"+name)
		args("@"+name, d.Arguments)
	}
	sort.Strings(out)
	return out
}

// schemaFile parses schema.graphqls as gqlgen does.
func schemaFile(t *testing.T) *ast.Schema {
	t.Helper()
	src, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if err != nil {
		t.Fatalf("schema.graphqls does not load: %v", err)
	}
	return s
}

// servedSchemas are the schema as written and as the generated executor
// serves it (and introspection shows it).
func servedSchemas(t *testing.T) map[string]*ast.Schema {
	return map[string]*ast.Schema{
		"schema.graphqls": schemaFile(t),
		"graph":           loadSchema(t),
	}
}

func TestSchemaDescribesEveryName(t *testing.T) {
	for name, s := range servedSchemas(t) {
		t.Run(name, func(t *testing.T) {
			if _, ok := s.Types["AutoClaimPolicy"]; !ok {
				t.Fatalf("the schema has no AutoClaimPolicy type")
			}
			if names := undescribed(s); len(names) > 0 {
				t.Errorf("%d names have no description; say what each is for an admin or app developer:\n  %s",
					len(names), strings.Join(names, "\n  "))
			}
		})
	}
}

// TestUndescribedNamesEachKind: the check above finds a missing description
// on every kind of name, and nothing else.
func TestUndescribedNamesEachKind(t *testing.T) {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "kinds.graphqls", Input: `
		"d" directive @described(a: Int "d" b: Int) on FIELD_DEFINITION
		directive @bare on FIELD_DEFINITION
		scalar Stamp
		"d" scalar Described
		type Query {
			"d" ok("d" id: ID): Kind
			bare(id: ID): Int @described
		}
		type Kind { "d" x: Int }
		"d" enum Choice { "d" ONE TWO }
		"d" input Filter { "d" x: Int y: Int }
	`})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"@bare", "@described(a:)", "Choice.TWO", "Filter.y", "Kind", "Query", "Query.bare", "Query.bare(id:)", "Stamp"}
	if got := undescribed(s); !slices.Equal(got, want) {
		t.Errorf("undescribed =\n  %v\nwant\n  %v", got, want)
	}
}

func TestTimeIsSpecified(t *testing.T) {
	for name, s := range servedSchemas(t) {
		t.Run(name, func(t *testing.T) {
			def := s.Types["Time"]
			if def == nil || def.Kind != ast.Scalar {
				t.Fatalf("Time is not a scalar of the schema")
			}
			d := def.Directives.ForName("specifiedBy")
			if d == nil {
				t.Fatalf("scalar Time has no @specifiedBy: clients can't tell its format")
			}
			if url := d.Arguments.ForName("url"); url == nil || !strings.HasPrefix(url.Value.Raw, "https://") {
				t.Errorf("scalar Time: @specifiedBy has no https url (%v)", d.Arguments)
			}
		})
	}
}

func TestStatusIsDeprecatedForEnabled(t *testing.T) {
	for name, s := range servedSchemas(t) {
		t.Run(name, func(t *testing.T) {
			policy := s.Types["AutoClaimPolicy"]
			if policy.Fields.ForName("enabled") == nil {
				t.Fatalf("AutoClaimPolicy has no enabled field")
			}
			if policy.Fields.ForName("enabled").Directives.ForName("deprecated") != nil {
				t.Errorf("AutoClaimPolicy.enabled is deprecated; status is the one to retire")
			}
			d := policy.Fields.ForName("status").Directives.ForName("deprecated")
			if d == nil {
				t.Fatalf("AutoClaimPolicy.status is not deprecated")
			}
			if r := d.Arguments.ForName("reason"); r == nil || !strings.Contains(r.Value.Raw, "enabled") {
				t.Errorf("AutoClaimPolicy.status: @deprecated does not point to enabled (%v)", d.Arguments)
			}
		})
	}
}

// TestIntrospectionShowsSchemaDocs: what clients and tools read through
// introspection carries Time's specification and status's deprecation.
func TestIntrospectionShowsSchemaDocs(t *testing.T) {
	a := newTestAPI(t, redistest.Mini(t))
	token := a.token("someone", "docs", auth.ReportsReader)
	var got struct {
		Time struct {
			Description    string
			SpecifiedByURL string
		}
		Policy struct {
			Description string
			Fields      []struct {
				Name              string
				Description       string
				IsDeprecated      bool
				DeprecationReason *string
			}
		}
	}
	a.mustDo(token, `{
		time: __type(name: "Time") { description specifiedByURL }
		policy: __type(name: "AutoClaimPolicy") { description fields(includeDeprecated: true) { name description isDeprecated deprecationReason } }
	}`, nil, &got)
	if got.Time.Description == "" || !strings.HasPrefix(got.Time.SpecifiedByURL, "https://") {
		t.Errorf("__type(Time) = %+v; want a description and a specifiedByURL", got.Time)
	}
	if got.Policy.Description == "" {
		t.Errorf("__type(AutoClaimPolicy) has no description")
	}
	fields := map[string]string{}
	for _, f := range got.Policy.Fields {
		reason := ""
		if f.DeprecationReason != nil {
			reason = *f.DeprecationReason
		}
		fields[f.Name] = fmt.Sprintf("deprecated=%v reason=%q described=%v", f.IsDeprecated, reason, f.Description != "")
	}
	for name, want := range map[string]string{
		"status":  `deprecated=true reason="Use enabled." described=true`,
		"enabled": `deprecated=false reason="" described=true`,
	} {
		if fields[name] != want {
			raw, _ := json.Marshal(got.Policy.Fields)
			t.Errorf("AutoClaimPolicy.%s: %s; want %s (fields: %s)", name, fields[name], want, raw)
		}
	}
}
