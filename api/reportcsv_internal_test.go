package api

import "testing"

func TestFormulaLike(t *testing.T) {
	for _, c := range []struct {
		cell string
		want bool
	}{
		{"=1+1", true}, {"+1", true}, {"-1", true}, {"@SUM(1)", true}, {"  =1", true}, {"\tx", true}, {"\rx", true},
		{"x;=1+1", true}, {"x; @A1", true}, {"＝1+1", true}, {"＋1", true}, {"－1", true}, {"＠SUM(1)", true}, {"﹦1", true},
		{"Flows", false}, {"a-b", false}, {"x;y", false}, {"", false}, {"e=mc2", false}, {"2026-11-30T00:00:00Z", false},
	} {
		if got := formulaLike(c.cell); got != c.want {
			t.Errorf("formulaLike(%q) = %v; want %v", c.cell, got, c.want)
		}
	}
}
