package totp_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"image/png"
	mrand "math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"github.com/lacop/lacop/totp"
)

// rfcSecret is the RFC 6238 Appendix B SHA-1 seed "12345678901234567890"
// in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// rfcTests are RFC 6238 Appendix B's SHA-1 vectors, cut from 8 digits to
// the last 6 (the same truncated value mod 10^6).
var rfcTests = []struct {
	unix int64
	want string
}{
	{59, "287082"},
	{1111111109, "081804"},
	{1111111111, "050471"},
	{1234567890, "005924"},
	{2000000000, "279037"},
	{20000000000, "353130"},
}

func TestCodeRFC6238(t *testing.T) {
	for _, tt := range rfcTests {
		got, err := totp.Code(rfcSecret, totp.Step(time.Unix(tt.unix, 0)))
		if err != nil {
			t.Errorf("Code(rfc, Step(%d)): %v", tt.unix, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Code(rfc, Step(%d)) = %q; want %q", tt.unix, got, tt.want)
		}
	}
}

// TestCodeMatchesOTP cross-checks Code, written here from the RFCs, against
// pquerna/otp, which authenticator apps have been tested against.
func TestCodeMatchesOTP(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2)) // fixed seed: failures reproduce
	opts := otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	for i := range 500 {
		key := make([]byte, []int{10, 16, 20, 32}[i%4])
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
		now := time.Unix(r.Int64N(1<<40), 0)
		want, err := otptotp.GenerateCodeCustom(secret, now, opts)
		if err != nil {
			t.Fatalf("GenerateCodeCustom(%q, %v): %v", secret, now, err)
		}
		got, err := totp.Code(secret, totp.Step(now))
		if err != nil {
			t.Fatalf("Code(%q, Step(%v)): %v", secret, now, err)
		}
		if got != want {
			t.Errorf("Code(%q, Step(%v)) = %q; want %q (pquerna/otp)", secret, now, got, want)
		}
	}
}

func TestCodeSecretForms(t *testing.T) {
	// 11 bytes encode to 18 characters, which padding fills out to 24.
	key := []byte("hello world")
	padded := base32.StdEncoding.EncodeToString(key)
	if !strings.HasSuffix(padded, "=") {
		t.Fatalf("test secret %q has no padding", padded)
	}
	bare := strings.TrimRight(padded, "=")
	want, err := totp.Code(bare, 12345)
	if err != nil {
		t.Fatalf("Code(%q, 12345): %v", bare, err)
	}
	for _, secret := range []string{padded, strings.ToLower(bare), strings.ToLower(padded)} {
		got, err := totp.Code(secret, 12345)
		if err != nil {
			t.Errorf("Code(%q, 12345): %v", secret, err)
			continue
		}
		if got != want {
			t.Errorf("Code(%q, 12345) = %q; want %q", secret, got, want)
		}
	}
}

func TestCodeErrors(t *testing.T) {
	tests := []struct {
		secret string
		step   int64
	}{
		{"", 1},
		{"====", 1},
		{"not base32!", 1},
		{"GEZDGNB1", 1}, // 1 is not in the base32 alphabet
		{"G", 1},        // impossible lengths: 1, 3 or 6 characters past a multiple of 8
		{"GEZ", 1},
		{"GEZDGN", 1},
		{"GEZDGNBVG", 1},
		{rfcSecret, -1},
	}
	for _, tt := range tests {
		got, err := totp.Code(tt.secret, tt.step)
		if err == nil {
			t.Errorf("Code(%q, %d) = %q, nil; want error", tt.secret, tt.step, got)
			continue
		}
		if !strings.HasPrefix(err.Error(), "totp: ") {
			t.Errorf("Code(%q, %d) error %q; want prefix %q", tt.secret, tt.step, err, "totp: ")
		}
	}
}

func TestStep(t *testing.T) {
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0},
		{29, 0},
		{30, 1},
		{59, 1},
		{1111111109, 37037036},
		{-1, -1},
		{-30, -1},
		{-31, -2},
	}
	for _, tt := range tests {
		if got := totp.Step(time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("Step(%d) = %d; want %d", tt.unix, got, tt.want)
		}
	}
	// Sub-second parts do not matter.
	if got, want := totp.Step(time.Unix(59, 999999999)), int64(1); got != want {
		t.Errorf("Step(59.999999999) = %d; want %d", got, want)
	}
}

func TestValidate(t *testing.T) {
	now := time.Unix(1111111111, 0)
	base := totp.Step(now)
	tests := []struct {
		offset int64 // step of the code relative to now's step
		skew   int
		ok     bool
	}{
		{0, 0, true},
		{0, 1, true},
		{-1, 0, false},
		{1, 0, false},
		{-1, 1, true},
		{1, 1, true},
		{-2, 1, false},
		{2, 1, false},
		{-2, 2, true},
		{2, 2, true},
	}
	for _, tt := range tests {
		code, err := totp.Code(rfcSecret, base+tt.offset)
		if err != nil {
			t.Fatalf("Code(rfc, %d): %v", base+tt.offset, err)
		}
		step, ok, err := totp.Validate(rfcSecret, code, now, tt.skew)
		if err != nil {
			t.Errorf("Validate(code at %+d, skew %d): %v", tt.offset, tt.skew, err)
			continue
		}
		if ok != tt.ok {
			t.Errorf("Validate(code at %+d, skew %d) ok = %v; want %v", tt.offset, tt.skew, ok, tt.ok)
			continue
		}
		if ok && step != base+tt.offset {
			t.Errorf("Validate(code at %+d, skew %d) step = %d; want %d", tt.offset, tt.skew, step, base+tt.offset)
		}
	}
}

func TestValidateRFCVectors(t *testing.T) {
	for _, tt := range rfcTests {
		now := time.Unix(tt.unix, 0)
		step, ok, err := totp.Validate(rfcSecret, tt.want, now, 1)
		if err != nil || !ok || step != totp.Step(now) {
			t.Errorf("Validate(rfc, %q, %d, 1) = %d, %v, %v; want %d, true, nil",
				tt.want, tt.unix, step, ok, err, totp.Step(now))
		}
	}
}

// TestValidateCollision checks which step is reported when one code is
// valid at two steps: the nearest to now, and the later of two as near.
// The steps were found by searching the RFC secret's codes.
func TestValidateCollision(t *testing.T) {
	const (
		adjacent = 50424280 // code at adjacent and adjacent+1 is "070562"
		gap      = 50897033 // code at gap and gap+2 is "407517"
	)
	for _, s := range []int64{adjacent, adjacent + 1, gap, gap + 2} {
		want := map[int64]string{adjacent: "070562", adjacent + 1: "070562", gap: "407517", gap + 2: "407517"}[s]
		if got, err := totp.Code(rfcSecret, s); err != nil || got != want {
			t.Fatalf("Code(rfc, %d) = %q, %v; want %q, nil", s, got, err, want)
		}
	}
	at := func(step int64) time.Time { return time.Unix(step*30+7, 0) }
	tests := []struct {
		code string
		now  int64 // step of now
		skew int
		want int64
	}{
		{"070562", adjacent, 1, adjacent},         // current beats +1
		{"070562", adjacent + 1, 1, adjacent + 1}, // current beats -1
		{"070562", adjacent - 1, 2, adjacent},     // +1 beats +2
		{"070562", adjacent + 2, 2, adjacent + 1}, // -1 beats -2
		{"407517", gap + 1, 1, gap + 2},           // +1 beats -1
	}
	for _, tt := range tests {
		step, ok, err := totp.Validate(rfcSecret, tt.code, at(tt.now), tt.skew)
		if err != nil || !ok || step != tt.want {
			t.Errorf("Validate(rfc, %q, step %d, %d) = %d, %v, %v; want %d, true, nil",
				tt.code, tt.now, tt.skew, step, ok, err, tt.want)
		}
	}
}

// TestValidateSpaces: outer space is trimmed, and the middle space
// authenticator apps display is accepted.
func TestValidateSpaces(t *testing.T) {
	now := time.Unix(59, 0)
	for _, code := range []string{" 287082", "287082 ", "\t287082\n", "  287082  ", "287 082", " 287 082 "} {
		step, ok, err := totp.Validate(rfcSecret, code, now, 1)
		if err != nil || !ok || step != 1 {
			t.Errorf("Validate(rfc, %q, 59, 1) = %d, %v, %v; want 1, true, nil", code, step, ok, err)
		}
	}
}

// malformedCodes are never valid, whatever the secret, and are not errors:
// they are what a person might type.
var malformedCodes = []string{
	"",
	"   ",
	"28708",   // 5 digits
	"2870821", // 7 digits
	"abcdef",
	"28708a",
	"28 7082", // only the app's own grouping, "287 082", is accepted
	"2870 82",
	"287  082",
	"12 34 56",
	"١٢٣٤٥٦", // Arabic-Indic digits
	"２８７０８２", // fullwidth digits
	"+12345",
	"-12345",
	"0x1234",
	"287082\x00",
}

func TestValidateMalformed(t *testing.T) {
	for _, code := range malformedCodes {
		step, ok, err := totp.Validate(rfcSecret, code, time.Unix(59, 0), 1)
		if err != nil || ok {
			t.Errorf("Validate(rfc, %q, 59, 1) = %d, %v, %v; want false, nil", code, step, ok, err)
		}
	}
}

func TestValidateWrongCode(t *testing.T) {
	step, ok, err := totp.Validate(rfcSecret, "000000", time.Unix(59, 0), 1)
	if err != nil || ok {
		t.Errorf("Validate(rfc, %q, 59, 1) = %d, %v, %v; want false, nil", "000000", step, ok, err)
	}
}

func TestValidateNearEpoch(t *testing.T) {
	// Step -1 does not exist; the code of step 0 is still accepted.
	code, err := totp.Code(rfcSecret, 0)
	if err != nil {
		t.Fatalf("Code(rfc, 0): %v", err)
	}
	step, ok, err := totp.Validate(rfcSecret, code, time.Unix(0, 0), 1)
	if err != nil || !ok || step != 0 {
		t.Errorf("Validate(rfc, %q, 0, 1) = %d, %v, %v; want 0, true, nil", code, step, ok, err)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		secret, code string
		skew         int
	}{
		{"", "287082", 1},
		{"not base32!", "287082", 1},
		{"not base32!", "bad", 1}, // a bad secret is reported even with a bad code
		{rfcSecret, "287082", -1},
	}
	for _, tt := range tests {
		step, ok, err := totp.Validate(tt.secret, tt.code, time.Unix(59, 0), tt.skew)
		if err == nil || ok {
			t.Errorf("Validate(%q, %q, 59, %d) = %d, %v, %v; want false, error", tt.secret, tt.code, tt.skew, step, ok, err)
		}
	}
}

func TestGenerate(t *testing.T) {
	k, err := totp.Generate("lacop", "alice@example.com")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(k.Secret)
	if err != nil {
		t.Fatalf("decode Secret %q: %v", k.Secret, err)
	}
	if got, want := len(key), 20; got != want {
		t.Errorf("len(decoded Secret) = %d; want %d", got, want)
	}

	u, err := url.Parse(k.URL)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", k.URL, err)
	}
	if got, want := u.Scheme+"://"+u.Host, "otpauth://totp"; got != want {
		t.Errorf("URL %q starts %q; want %q", k.URL, got, want)
	}
	if got, want := u.Path, "/lacop:alice@example.com"; got != want {
		t.Errorf("URL %q label = %q; want %q", k.URL, got, want)
	}
	q := u.Query()
	for _, tt := range []struct{ param, want string }{
		{"secret", k.Secret},
		{"issuer", "lacop"},
		{"period", "30"},
		{"digits", "6"},
		{"algorithm", "SHA1"},
	} {
		if got := q.Get(tt.param); got != tt.want {
			t.Errorf("URL %q %s = %q; want %q", k.URL, tt.param, got, tt.want)
		}
	}

	// The app's view of the URL computes the same code as Code.
	ok, err := otptotp.ValidateCustom(mustCode(t, k.Secret, totp.Step(time.Unix(1e9, 0))), k.Secret,
		time.Unix(1e9, 0), otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil || !ok {
		t.Errorf("otp ValidateCustom(Code(secret)) = %v, %v; want true, nil", ok, err)
	}

	k2, err := totp.Generate("lacop", "alice@example.com")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if k2.Secret == k.Secret {
		t.Errorf("two Generate calls gave the same secret %q", k.Secret)
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, tt := range []struct{ issuer, account string }{
		{"", "alice@example.com"},
		{"lacop", ""},
	} {
		if k, err := totp.Generate(tt.issuer, tt.account); err == nil {
			t.Errorf("Generate(%q, %q) = %+v, nil; want error", tt.issuer, tt.account, k)
		}
	}
}

func mustCode(t *testing.T, secret string, step int64) string {
	t.Helper()
	code, err := totp.Code(secret, step)
	if err != nil {
		t.Fatalf("Code(%q, %d): %v", secret, step, err)
	}
	return code
}

func TestQRCode(t *testing.T) {
	k, err := totp.Generate("lacop.example.com", "alice@example.com")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	for _, size := range []int{100, 200, 256} {
		b, err := totp.QRCode(k.URL, size)
		if err != nil {
			t.Errorf("QRCode(url, %d): %v", size, err)
			continue
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Errorf("QRCode(url, %d) is not a PNG: %v", size, err)
			continue
		}
		if got := img.Bounds().Size(); got.X < size*9/10 || got.X > size || got.Y < size*9/10 || got.Y > size {
			t.Errorf("QRCode(url, %d) is %v; want about %dx%d", size, got, size, size)
		}
	}
}

func TestQRCodeErrors(t *testing.T) {
	k, err := totp.Generate("lacop", "alice@example.com")
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	tests := []struct {
		url  string
		size int
	}{
		{k.URL, 0},
		{k.URL, -5},
		{k.URL, 10}, // smaller than the QR code's modules
		{"://not a url", 200},
	}
	for _, tt := range tests {
		if _, err := totp.QRCode(tt.url, tt.size); err == nil {
			t.Errorf("QRCode(%q, %d) = _, nil; want error", tt.url, tt.size)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	key := make([]byte, 20)
	rand.Read(key)
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
	now := time.Unix(1700000000, 0)
	code, err := totp.Code(secret, totp.Step(now)-1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := totp.Validate(secret, code, now, 1); err != nil || !ok {
			b.Fatalf("Validate = %v, %v; want true, nil", ok, err)
		}
	}
}
