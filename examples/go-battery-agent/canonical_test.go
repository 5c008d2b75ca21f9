package main

import "testing"

// Cases from RFC 8785 appendix B and the ECMAScript number rules.
func TestNumbers(t *testing.T) {
	cases := map[float64]string{
		0: "0", 1: "1", -1: "-1", 0.5: "0.5", 100: "100", 1e21: "1e+21", 1e20: "100000000000000000000",
		123456789012345680000: "123456789012345680000", 1e-6: "0.000001", 1e-7: "1e-7", 1.5e-7: "1.5e-7",
		4.50: "4.5", 2e-3: "0.002", 9007199254740992: "9007199254740992",
		1.7976931348623157e308: "1.7976931348623157e+308", 5e-324: "5e-324", 333333333.33333329: "333333333.3333333",
		-1.5e300: "-1.5e+300",
	}
	for v, want := range cases {
		got, err := esNumber(v)
		if err != nil || got != want {
			t.Errorf("esNumber(%v) = %q, %v; want %q", v, got, err, want)
		}
	}
}

func TestObject(t *testing.T) {
	v := map[string]interface{}{"b": []interface{}{1, "x\n\"é\u2028", nil, true}, "a": map[string]interface{}{"\u20ac": 1, "\r": 2, "1": 3}, "": 0.1}
	got, err := Canonical(v)
	want := "{\"\":0.1,\"a\":{\"\\r\":2,\"1\":3,\"\u20ac\":1},\"b\":[1,\"x\\n\\\"é\u2028\",null,true]}"
	if err != nil || got != want {
		t.Errorf("Canonical = %s, %v; want %s", got, err, want)
	}
}
