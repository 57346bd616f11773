package sm

import "testing"

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"stake", true},
		{"market.v2", true},
		{"a_b-c", true},
		{"", false},
		{"Stake", false},
		{"with space", false},
		{"abcdefghijklmnopqrstuvwxyz0123456", false},
		{"abcdefghijklmnopqrstuvwxyz012345", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidName(tc.name); got != tc.want {
				t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}
