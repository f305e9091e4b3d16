package license

import (
	"errors"
	"strings"
	"testing"
)

// TestProblemsOnFields: problems nested in problems keep each its own
// field under the outer one.
func TestProblemsOnFields(t *testing.T) {
	var inner Problems
	inner.Add("disabledServicePlanIds[0]", Errorf(EINVALID, "a"))
	inner.Add("disabledServicePlanIds[1]", Errorf(EINVALID, "b"))
	var outer Problems
	outer.Add("name", Errorf(EINVALID, "c"))
	outer.Add("products[2]", inner.Err())
	outer.Add("ignored", nil)
	var got []string
	for _, e := range outer {
		got = append(got, e.Field)
	}
	want := []string{"name", "products[2].disabledServicePlanIds[0]", "products[2].disabledServicePlanIds[1]"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fields %v; want %v", got, want)
	}
	var prefixed Problems
	if !errors.As(OnField("input", outer.Err()), &prefixed) || len(prefixed) != 3 || prefixed[1].Field != "input.products[2].disabledServicePlanIds[0]" {
		t.Fatalf("OnField(input, problems) = %v; want each under input.", prefixed)
	}
	if e := OnField("x", Internal(errors.New("boom"))); ErrorCode(e) != EINTERNAL || e.(*Error).Field != "" {
		t.Fatalf("an internal error got a field: %+v", e)
	}
}
