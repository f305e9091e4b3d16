package license_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/autoclaim/autoclaim/license"
)

// checkErr fails t unless err has the code want ("" means no error) and, for
// an error, a client-facing message holding every one of parts.
func checkErr(t *testing.T, call string, err error, want string, parts ...string) {
	t.Helper()
	if got := license.ErrorCode(err); got != want {
		t.Fatalf("%s: code = %q (err %v); want %q", call, got, err, want)
	}
	if err == nil {
		return
	}
	var e *license.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s = %T %v; want a *license.Error", call, err, err)
	}
	msg := license.ErrorMessage(err)
	if strings.TrimSpace(msg) == "" {
		t.Fatalf("%s: message is empty", call)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("%s: message %q does not mention %q", call, msg, p)
		}
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		code  string
		parts []string
	}{
		{"OK", "Power Automate for everyone", "", nil},
		{"OKUnicode", "Lizenzen für Ärzte 🚀", "", nil},
		{"OKSurroundingSpaces", "  padded  ", "", nil},
		{"OK100Runes", strings.Repeat("a", 100), "", nil},
		{"OK100MultiByteRunes", strings.Repeat("é", 100), "", nil},
		{"OK100RunesWithSpaces", "  " + strings.Repeat("b", 100) + "  ", "", nil},
		{"ErrEmpty", "", license.EINVALID, []string{"policy name", "empty"}},
		{"ErrBlank", "   ", license.EINVALID, []string{"policy name", "empty"}},
		{"ErrBlankTabs", "\t \t", license.EINVALID, []string{"policy name", "empty"}},
		{"ErrTooLong101", strings.Repeat("a", 101), license.EINVALID, []string{"policy name", "100", "101"}},
		{"ErrTooLong101MultiByte", strings.Repeat("é", 101), license.EINVALID, []string{"100", "101"}},
		{"ErrNewline", "two\nlines", license.EINVALID, []string{"control characters"}},
		{"ErrCarriageReturn", "a\rb", license.EINVALID, []string{"control characters"}},
		{"ErrTab", "a\tb", license.EINVALID, []string{"control characters"}},
		{"ErrLeadingTab", "\tname", license.EINVALID, []string{"control characters"}},
		{"ErrNUL", "a\x00b", license.EINVALID, []string{"control characters"}},
		{"ErrEscape", "a\x1b[31mred", license.EINVALID, []string{"control characters"}},
		{"ErrDEL", "a\x7fb", license.EINVALID, []string{"control characters"}},
		{"ErrC1NextLine", "a\u0085b", license.EINVALID, []string{"control characters"}},
		{"ErrC1CSI", "a\u009b31mred", license.EINVALID, []string{"control characters"}},
		{"ErrInvalidUTF8", "caf\xe9", license.EINVALID, []string{"UTF-8"}},
		{"ErrInvalidUTF8Only", "\xff\xfe", license.EINVALID, []string{"UTF-8"}},
		{"ErrZeroWidthSpace", "Adele\u200bVance", license.EINVALID, []string{"invisible"}},
		{"ErrRightToLeftOverride", "Adele \u202eecnaV", license.EINVALID, []string{"invisible"}},
		{"ErrLineSeparator", "a\u2028b", license.EINVALID, []string{"invisible"}},
		{"OKNoBreakSpace", "Adele\u00a0Vance", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := license.ValidateName("policy name", tt.in)
			checkErr(t, fmt.Sprintf("ValidateName(%q)", tt.in), err, tt.code, tt.parts...)
		})
	}
}

func TestValidateUserPrincipalName(t *testing.T) {
	long := strings.Repeat("a", 256-len("@contoso.com"))
	tests := []struct {
		in   string
		code string
	}{
		{"alice@contoso.com", ""},
		{"alice.smith+x@sub.contoso.onmicrosoft.com", ""},
		{long + "@contoso.com", ""},
		{long + "a@contoso.com", license.EINVALID},
		{"", license.EINVALID},
		{"alice", license.EINVALID},
		{"alice@contoso", license.EINVALID},
		{"@contoso.com", license.EINVALID},
		{"alice@", license.EINVALID},
		{"alice@@contoso.com", license.EINVALID},
		{"a@b@contoso.com", license.EINVALID},
		{"al ice@contoso.com", license.EINVALID},
		{"alice@contoso.com\n", license.EINVALID},
		{"alice@contoso.", license.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := license.ValidateUserPrincipalName(tt.in)
			var parts []string
			if tt.code != "" {
				parts = []string{"name@example.com"}
			}
			checkErr(t, fmt.Sprintf("ValidateUserPrincipalName(%q)", tt.in), err, tt.code, parts...)
		})
	}
}

func TestValidateUserPrincipalNameRefusesControlCharacters(t *testing.T) {
	tests := []struct {
		name, in, part string
	}{
		{"ErrUnitSeparator", "a\x1fb@c.de", "control characters"},
		{"ErrNUL", "a\x00@contoso.com", "control characters"},
		{"ErrEscape", "a\x1b[31m@contoso.com", "control characters"},
		{"ErrDEL", "a\x7f@contoso.com", "control characters"},
		{"ErrC1NextLine", "a\u0085@contoso.com", "control characters"},
		{"ErrInvalidUTF8", "caf\xe9@contoso.com", "UTF-8"},
		{"ErrZeroWidthSpace", "adele\u200b@contoso.com", "invisible"},
		{"ErrNoBreakSpace", "adele\u00a0x@contoso.com", "spaces"},
		{"ErrBidiMark", "adele\u200f@contoso.com", "invisible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := license.ValidateUserPrincipalName(tt.in)
			checkErr(t, fmt.Sprintf("ValidateUserPrincipalName(%q)", tt.in), err, license.EINVALID, tt.part)
		})
	}
}

func TestValidateCallerID(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		code  string
		parts []string
	}{
		{"OK", "user-1", "", nil},
		{"OKAllowedPunctuation", "A.z_0@9:-", "", nil},
		{"OKGUID", "7f6c0c3e-1d2b-4c5e-9a8b-0123456789ab", "", nil},
		{"OK128", strings.Repeat("x", 128), "", nil},
		{"ErrEmpty", "", license.EINVALID, []string{"user id", "empty"}},
		{"ErrTooLong129", strings.Repeat("x", 129), license.EINVALID, []string{"user id", "128", "129"}},
		{"ErrSpace", "user 1", license.EINVALID, []string{"user id", `"user 1"`}},
		{"ErrSlash", "a/b", license.EINVALID, []string{`"a/b"`}},
		{"ErrBraces", "{t:x}", license.EINVALID, []string{`"{t:x}"`}},
		{"ErrNonASCII", "usér", license.EINVALID, []string{"letters, digits"}},
		{"ErrNewline", "a\nb", license.EINVALID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := license.ValidateCallerID("user id", tt.in)
			checkErr(t, fmt.Sprintf("ValidateCallerID(%q)", tt.in), err, tt.code, tt.parts...)
		})
	}
}

func TestValidateQuantity(t *testing.T) {
	tests := []struct {
		in   int
		code string
	}{
		{0, ""},
		{1, ""},
		{25, ""},
		{license.MaxQuantity, ""},
		{license.MaxQuantity + 1, license.EINVALID},
		{-1, license.EINVALID},
		{-1 << 40, license.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			err := license.ValidateQuantity(tt.in)
			var parts []string
			if tt.code != "" {
				parts = []string{fmt.Sprint(license.MaxQuantity), fmt.Sprint(tt.in)}
			}
			checkErr(t, fmt.Sprintf("ValidateQuantity(%d)", tt.in), err, tt.code, parts...)
		})
	}
}

func TestValidatePolicyLimit(t *testing.T) {
	tests := []struct {
		in   int
		code string
	}{
		{1, ""},
		{license.DefaultPolicyLimit, ""},
		{50, ""},
		{license.MaxPolicyLimit, ""},
		{license.MaxPolicyLimit + 1, license.EINVALID},
		{0, license.EINVALID},
		{-3, license.EINVALID},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			err := license.ValidatePolicyLimit(tt.in)
			var parts []string
			if tt.code != "" {
				parts = []string{"policy limit", fmt.Sprint(license.MaxPolicyLimit), fmt.Sprint(tt.in)}
			}
			checkErr(t, fmt.Sprintf("ValidatePolicyLimit(%d)", tt.in), err, tt.code, parts...)
		})
	}
}

func TestValidateTenantID(t *testing.T) {
	tests := []struct {
		in   string
		code string
	}{
		{"contoso", ""},
		{"c0", ""},
		{"contoso-2024", ""},
		{strings.Repeat("a", 40), ""},
		{strings.Repeat("a", 41), license.ENOTFOUND},
		{"c", license.ENOTFOUND},
		{"", license.ENOTFOUND},
		{"Contoso", license.ENOTFOUND},
		{"-contoso", license.ENOTFOUND},
		{"con toso", license.ENOTFOUND},
		{"contoso:product:1", license.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := license.ValidateTenantID(tt.in)
			var parts []string
			if tt.code != "" {
				parts = []string{fmt.Sprintf("%q", tt.in), "not found"}
			}
			checkErr(t, fmt.Sprintf("ValidateTenantID(%q)", tt.in), err, tt.code, parts...)
		})
	}
}

func TestObjectIDRoundTrip(t *testing.T) {
	tests := []struct {
		tenant string
		n      int64
	}{
		{"contoso", 1},
		{"contoso", 42},
		{"fab-rikam-9", 1 << 62},
		{"c0", 9223372036854775807},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.tenant, tt.n), func(t *testing.T) {
			pid := license.ProductID(tt.tenant, tt.n)
			if want := fmt.Sprintf("%s:product:%d", tt.tenant, tt.n); pid != want {
				t.Errorf("ProductID(%q, %d) = %q; want %q", tt.tenant, tt.n, pid, want)
			}
			tenant, n, err := license.ParseProductID(pid)
			if err != nil || tenant != tt.tenant || n != tt.n {
				t.Errorf("ParseProductID(%q) = %q, %d, %v; want %q, %d, nil", pid, tenant, n, err, tt.tenant, tt.n)
			}

			polID := license.PolicyID(tt.tenant, tt.n)
			if want := fmt.Sprintf("%s:policy:%d", tt.tenant, tt.n); polID != want {
				t.Errorf("PolicyID(%q, %d) = %q; want %q", tt.tenant, tt.n, polID, want)
			}
			tenant, n, err = license.ParsePolicyID(polID)
			if err != nil || tenant != tt.tenant || n != tt.n {
				t.Errorf("ParsePolicyID(%q) = %q, %d, %v; want %q, %d, nil", polID, tenant, n, err, tt.tenant, tt.n)
			}
			if pid == polID {
				t.Errorf("ProductID and PolicyID both = %q; want distinct ids", pid)
			}
		})
	}
}

func TestParseObjectIDRejects(t *testing.T) {
	malformed := []string{
		"",
		"contoso",
		"contoso:product",
		"contoso:product:",
		"contoso:product:0",
		"contoso:product:-1",
		"contoso:product:01",
		"contoso:product:+1",
		"contoso:product: 1",
		"contoso:product:1 ",
		"contoso:product:1.0",
		"contoso:product:abc",
		"contoso:product:1:2",
		"contoso:product:9223372036854775808",
		"contoso:PRODUCT:1",
		"contoso:products:1",
		"Contoso:product:1",
		"c:product:1",
		":product:1",
		"con toso:product:1",
		"-contoso:product:1",
		strings.Repeat("a", 41) + ":product:1",
	}
	for _, id := range malformed {
		t.Run("Product/"+id, func(t *testing.T) {
			tenant, n, err := license.ParseProductID(id)
			if tenant != "" || n != 0 {
				t.Errorf("ParseProductID(%q) = %q, %d; want \"\", 0", id, tenant, n)
			}
			checkErr(t, fmt.Sprintf("ParseProductID(%q)", id), err, license.ENOTFOUND, "Product", fmt.Sprintf("%q", id))
		})
		polID := strings.NewReplacer(":product", ":policy", ":PRODUCT", ":POLICY").Replace(id)
		t.Run("Policy/"+polID, func(t *testing.T) {
			tenant, n, err := license.ParsePolicyID(polID)
			if tenant != "" || n != 0 {
				t.Errorf("ParsePolicyID(%q) = %q, %d; want \"\", 0", polID, tenant, n)
			}
			checkErr(t, fmt.Sprintf("ParsePolicyID(%q)", polID), err, license.ENOTFOUND, "Policy", fmt.Sprintf("%q", polID))
		})
	}

	t.Run("WrongKind", func(t *testing.T) {
		if _, _, err := license.ParseProductID("contoso:policy:1"); license.ErrorCode(err) != license.ENOTFOUND {
			t.Errorf("ParseProductID(%q) err = %v; want %s", "contoso:policy:1", err, license.ENOTFOUND)
		}
		if _, _, err := license.ParsePolicyID("contoso:product:1"); license.ErrorCode(err) != license.ENOTFOUND {
			t.Errorf("ParsePolicyID(%q) err = %v; want %s", "contoso:product:1", err, license.ENOTFOUND)
		}
	})
}

func TestTenantOf(t *testing.T) {
	tests := []struct {
		in     string
		tenant string
		ok     bool
	}{
		{"contoso", "contoso", true},
		{"contoso:product:7", "contoso", true},
		{"fabrikam:policy:12", "fabrikam", true},
		{"", "", false},
		{"Contoso", "", false},
		{"contoso:product:07", "", false},
		{"contoso:policy:0", "", false},
		{"contoso:policy:-2", "", false},
		{"contoso:user:1", "", false},
		{"BAD:product:1", "", false},
		{"contoso:product:1:extra", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tenant, ok := license.TenantOf(tt.in)
			if tenant != tt.tenant || ok != tt.ok {
				t.Errorf("TenantOf(%q) = %q, %v; want %q, %v", tt.in, tenant, ok, tt.tenant, tt.ok)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"contoso:product:1", "Product"},
		{"contoso:policy:3", "Policy"},
		{"contoso", "Tenant"},
		{"contoso:request:2", "License request"},
		{"", "Object"},
		{"contoso:user:1", "Object"},
		{"contoso:product", "Object"},
		{"contoso:product:1:2", "Object"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := license.KindOf(tt.in); got != tt.want {
				t.Errorf("KindOf(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestProductAvailableLicenses(t *testing.T) {
	tests := []struct {
		total, assigned, want int
	}{
		{0, 0, 0},
		{10, 0, 10},
		{10, 3, 7},
		{10, 10, 0},
		{5, 8, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%d", tt.total, tt.assigned), func(t *testing.T) {
			p := &license.Product{TotalLicenses: tt.total, AssignedLicenses: tt.assigned}
			if got := p.AvailableLicenses(); got != tt.want {
				t.Errorf("Product{Total: %d, Assigned: %d}.AvailableLicenses() = %d; want %d", tt.total, tt.assigned, got, tt.want)
			}
		})
	}
}

func TestPolicyPositionAndProductIDs(t *testing.T) {
	p := &license.Policy{Products: []license.PolicyProduct{{ProductID: "c0:product:3"}, {ProductID: "c0:product:1"}}}
	for id, want := range map[string]int{"c0:product:3": 0, "c0:product:1": 1, "c0:product:2": -1, "": -1} {
		if got := p.Position(id); got != want {
			t.Errorf("Position(%q) = %d; want %d", id, got, want)
		}
	}
	if got, want := strings.Join(p.ProductIDs(), ","), "c0:product:3,c0:product:1"; got != want {
		t.Errorf("ProductIDs() = %q; want %q", got, want)
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := license.Errorf(license.ENOTFOUND, "Policy %q was not found.", "contoso:policy:9")
	cause := errors.New("dial tcp 10.0.0.7:6379: connection refused")
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"Nil", nil, "", ""},
		{"Error", notFound, license.ENOTFOUND, `Policy "contoso:policy:9" was not found.`},
		{"Wrapped", fmt.Errorf("load policy: %w", notFound), license.ENOTFOUND, `Policy "contoso:policy:9" was not found.`},
		{"WrappedTwice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", license.Errorf(license.ECONFLICT, "Limit reached."))), license.ECONFLICT, "Limit reached."},
		{"Joined", errors.Join(errors.New("other"), license.Errorf(license.EINVALID, "Bad name.")), license.EINVALID, "Bad name."},
		{"Foreign", cause, license.EINTERNAL, "internal error"},
		{"WrappedForeign", fmt.Errorf("store: %w", cause), license.EINTERNAL, "internal error"},
		{"Internal", license.Internal(cause), license.EINTERNAL, "internal error"},
		{"InternalNilCause", license.Internal(nil), license.EINTERNAL, "internal error"},
		{"InternalCodeWithDetail", license.Errorf(license.EINTERNAL, "lua script line 12: %v", cause), license.EINTERNAL, "internal error"},
		{"WrappedInternal", fmt.Errorf("claim: %w", license.Internal(cause)), license.EINTERNAL, "internal error"},
		{"Unavailable", license.Errorf(license.EUNAVAILABLE, "The store is unreachable."), license.EUNAVAILABLE, "The store is unreachable."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := license.ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode(%v) = %q; want %q", tt.err, got, tt.code)
			}
			got := license.ErrorMessage(tt.err)
			if got != tt.msg {
				t.Errorf("ErrorMessage(%v) = %q; want %q", tt.err, got, tt.msg)
			}
			if strings.Contains(got, "10.0.0.7") || strings.Contains(got, "lua") {
				t.Errorf("ErrorMessage(%v) = %q; it leaks an internal detail", tt.err, got)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("redis: nil")
	tests := []struct {
		name string
		err  *license.Error
		want string
	}{
		{"NoCause", license.Errorf(license.EINVALID, "The %s can't be empty.", "policy name"), "BAD_USER_INPUT: The policy name can't be empty."},
		{"Cause", license.Internal(cause), "INTERNAL: internal error: redis: nil"},
		{"Literal", &license.Error{Code: license.EFORBIDDEN, Message: "No."}, "FORBIDDEN: No."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q; want %q", got, tt.want)
			}
		})
	}
	if !errors.Is(license.Internal(cause), cause) {
		t.Errorf("errors.Is(Internal(cause), cause) = false; want true")
	}
	if err := license.Errorf(license.EINVALID, "x"); err.Unwrap() != nil {
		t.Errorf("Errorf(...).Unwrap() = %v; want nil", err.Unwrap())
	}
}
