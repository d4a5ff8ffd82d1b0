package main

import "strings"

// English inflection of the last word of a module name, enough to turn
// "payments" into the entity Payment and "order" into the list Orders. It is
// deliberately small: a word it gets wrong gives odd names, never broken
// code (every generated identifier comes from these two functions).

// uncountable words have one form for both numbers.
var uncountable = map[string]bool{
	"data": true, "equipment": true, "feedback": true, "fish": true, "hardware": true,
	"information": true, "media": true, "metadata": true, "money": true, "news": true,
	"police": true, "rice": true, "series": true, "sheep": true, "software": true,
	"species": true, "staff": true,
}

// irregular maps singular to plural where the rules below go wrong.
var irregular = map[string]string{
	"ache": "aches", "alias": "aliases", "analysis": "analyses", "appendix": "appendices",
	"atlas": "atlases", "avalanche": "avalanches", "axis": "axes", "bias": "biases",
	"brownie": "brownies", "cache": "caches", "calf": "calves", "calorie": "calories",
	"canoe": "canoes", "canvas": "canvases", "child": "children", "cookie": "cookies",
	"crisis": "crises", "criterion": "criteria", "diagnosis": "diagnoses", "elf": "elves",
	"emu": "emus", "foot": "feet", "gas": "gases", "goose": "geese", "guru": "gurus",
	"haiku": "haikus", "half": "halves", "headache": "headaches", "hero": "heroes",
	"hypothesis": "hypotheses", "knife": "knives", "leaf": "leaves", "lens": "lenses",
	"life": "lives", "loaf": "loaves", "man": "men", "matrix": "matrices", "menu": "menus",
	"mouse": "mice", "movie": "movies", "niche": "niches", "ox": "oxen", "person": "people",
	"phenomenon": "phenomena", "pie": "pies", "potato": "potatoes", "quiz": "quizzes",
	"rookie": "rookies", "self": "selves", "selfie": "selfies", "shelf": "shelves",
	"shoe": "shoes", "smoothie": "smoothies", "thesis": "theses", "thief": "thieves",
	"tie": "ties", "toe": "toes", "tomato": "tomatoes", "tooth": "teeth", "use": "uses",
	"vertex": "vertices", "wife": "wives", "wolf": "wolves", "woman": "women",
	"zombie": "zombies",
}

// irregularSingular is irregular inverted, plus plurals that singularize
// irregularly but whose singular pluralizes by the rules (indices and
// indexes are both index; index gives indexes).
var irregularSingular = func() map[string]string {
	m := map[string]string{"indices": "index"}
	for s, p := range irregular {
		m[p] = s
	}

	return m
}()

// suffixRule replaces a plural ending with a singular one.
type suffixRule struct{ plural, singular string }

// singularRules are tried in order; the first whose plural ending matches
// wins. Words that match none are already singular.
var singularRules = []suffixRule{
	{"ouses", "ouse"}, // houses, warehouses
	{"auses", "ause"}, // causes, clauses
	{"uses", "us"},    // statuses, buses, bonuses
	{"sses", "ss"},    // addresses, classes
	{"shes", "sh"},    // wishes
	{"ches", "ch"},    // batches, branches
	{"xes", "x"},      // boxes, taxes
	{"zzes", "zz"},    // buzzes
	{"oes", "o"},      // echoes
	{"ies", "y"},      // categories, entries
	{"ss", "ss"},      // address, class: already singular
	{"us", "us"},      // status, campus
	{"is", "is"},      // analysis
	{"s", ""},         // payments, keys, cases, archives
}

// singular returns the singular of an English word in lower case.
func singular(word string) string {
	if uncountable[word] {
		return word
	}

	if s, ok := irregularSingular[word]; ok {
		return s
	}

	if _, ok := irregular[word]; ok {
		return word
	}

	for _, r := range singularRules {
		if stem, ok := strings.CutSuffix(word, r.plural); ok && stem != "" {
			return stem + r.singular
		}
	}

	return word
}

// plural returns the plural of a singular English word in lower case.
func plural(word string) string {
	if uncountable[word] {
		return word
	}

	if p, ok := irregular[word]; ok {
		return p
	}

	switch {
	case strings.HasSuffix(word, "y") && len(word) > 1 && !isVowel(word[len(word)-2]):
		return word[:len(word)-1] + "ies"
	case strings.HasSuffix(word, "sis"):
		return word[:len(word)-2] + "es"
	case hasAnySuffix(word, "s", "sh", "ch", "x", "z"):
		return word + "es"
	default:
		return word + "s"
	}
}

func isVowel(c byte) bool { return strings.IndexByte("aeiou", c) >= 0 }

func hasAnySuffix(s string, suffixes ...string) bool {
	for _, suffix := range suffixes {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}

	return false
}
