package profiles

import (
	"html"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Slugify makes a profile slug from a display name the way KubeSpawner
// does when a profile has no slug (python-slugify's slugify with its
// defaults): apostrophes split words, letters lose their accents, HTML
// character references are decoded, the text is lowercased, a comma
// between two digits is dropped, every run of characters other than ASCII
// letters and digits becomes a single '-', and leading and trailing '-'
// are trimmed.
//
//	"Small (2 CPU, 4 GB)" -> "small-2-cpu-4-gb"
//	"Größe L"             -> "grosse-l"
//	"Bob's Lab"           -> "bob-s-lab"
//
// python-slugify transliterates every script to ASCII (with the Unidecode
// tables); Slugify knows the Latin letters only and drops other
// characters, so a display name in another script gives a different slug
// than KubeSpawner's. Set slug explicitly for those.
func Slugify(name string) string {
	// Apostrophes become separators before anything else.
	s := strings.ReplaceAll(name, "'", "-")
	s = transliterate(norm.NFKD.String(s))
	s = html.UnescapeString(s)
	s = norm.NFKD.String(s)
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "'", "")

	var b strings.Builder
	dash := false
	for i, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case r == '-':
			dash = true
		case r == ',' && i > 0 && isDigitAt(s, i-1) && isDigitAt(s, i+1):
			// "1,000" -> "1000"
		default:
			dash = true
		}
	}
	return b.String()
}

func isDigitAt(s string, i int) bool {
	return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9'
}

// latin are the letters that NFKD does not decompose to ASCII, spelled as
// Unidecode spells them.
var latin = map[rune]string{
	'ß': "ss", 'ẞ': "SS", 'æ': "ae", 'Æ': "AE", 'ø': "o", 'Ø': "O",
	'œ': "oe", 'Œ': "OE", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D",
	'þ': "th", 'Þ': "Th", 'ł': "l", 'Ł': "L", 'ı': "i", 'ŋ': "ng",
	'Ŋ': "NG", 'ħ': "h", 'Ħ': "H", 'ŧ': "t", 'Ŧ': "T", 'ĸ': "q",
	'ſ': "s", 'ŀ': "l", 'Ŀ': "L",
}

// transliterate maps a decomposed string to ASCII: combining marks are
// dropped, the letters in latin are spelled out, other letters are dropped
// (Unidecode spells them out) and other characters separate words.
func transliterate(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
		case r == '’' || r == '‘' || r == '‛':
			// Unidecode spells these as an apostrophe, which is then removed.
		default:
			if t, ok := latin[r]; ok {
				b.WriteString(t)
			} else if !unicode.IsLetter(r) {
				// Unidecode spells most punctuation and symbols as ASCII
				// punctuation, which separates words.
				b.WriteByte(' ')
			}
		}
	}
	return b.String()
}
