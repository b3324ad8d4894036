package hyperlieu

import (
	"strings"
)

// template is the title and body of one message, with {var} placeholders
// filled from NotificationRequest.Vars (plus "name", the customer's display
// name, and "brand").
type template struct{ Title, Body string }

// templateKey chooses a template variant.
type templateKey struct {
	kind      NotificationKind
	locale    string
	formality Formality
}

// templates holds every text the brand sends. English has no tu/vous, so it
// only has formal variants; the familiar lookup falls back to them.
var templates = map[templateKey]template{
	{KindWelcome, "en", Formal}: {"Welcome to {brand}, {name}",
		"We'll send you at most {max} messages a day: offers near you, local events and your rewards, never between {quietFrom} and {quietTo}. Change this any time in your settings."},
	{KindWelcome, "fr", Formal}: {"Bienvenue chez {brand}, {name}",
		"Nous vous enverrons au plus {max} messages par jour : des offres près de chez vous, nos événements et vos récompenses, jamais entre {quietFrom} et {quietTo}. Vous pouvez changer cela à tout moment dans vos réglages."},
	{KindWelcome, "fr", Familiar}: {"Bienvenue chez {brand}, {name}",
		"On t'enverra au plus {max} messages par jour : des offres près de chez toi, nos événements et tes récompenses, jamais entre {quietFrom} et {quietTo}. Tu peux changer ça à tout moment dans tes réglages."},

	{KindJourney, "en", Formal}:   {"{title}", "{message}"},
	{KindJourney, "fr", Formal}:   {"{title}", "{message}"},
	{KindJourney, "fr", Familiar}: {"{title}", "{message}"},

	{KindOffer, "en", Formal}:   {"An offer for you: {offer}", "{offer} is waiting in your wallet at {shop}. Show code {code} at the counter."},
	{KindOffer, "fr", Formal}:   {"Une offre pour vous : {offer}", "{offer} vous attend dans votre portefeuille chez {shop}. Présentez le code {code} en caisse."},
	{KindOffer, "fr", Familiar}: {"Une offre pour toi : {offer}", "{offer} t'attend dans ton portefeuille chez {shop}. Montre le code {code} en caisse."},

	{KindEventAnnounced, "en", Formal}:   {"New near you: {event}", "{event} at {shop}, {when}. Would you like to come?"},
	{KindEventAnnounced, "fr", Formal}:   {"Nouveau près de chez vous : {event}", "{event} chez {shop}, {when}. Vous venez ?"},
	{KindEventAnnounced, "fr", Familiar}: {"Nouveau près de chez toi : {event}", "{event} chez {shop}, {when}. Tu viens ?"},

	{KindEventReminder, "en", Formal}:   {"{event} starts soon", "See you {when} at {shop}."},
	{KindEventReminder, "fr", Formal}:   {"{event} commence bientôt", "Nous vous attendons {when} chez {shop}."},
	{KindEventReminder, "fr", Familiar}: {"{event} commence bientôt", "On t'attend {when} chez {shop}."},

	{KindEventChanged, "en", Formal}:   {"{event} has changed", "It now takes place {when} at {shop}. {message}"},
	{KindEventChanged, "fr", Formal}:   {"{event} a changé", "L'événement a désormais lieu {when} chez {shop}. {message}"},
	{KindEventChanged, "fr", Familiar}: {"{event} a changé", "L'événement a maintenant lieu {when} chez {shop}. {message}"},

	{KindEventCancelled, "en", Formal}:   {"{event} is cancelled", "We're sorry: {event} at {shop} will not take place. {message}"},
	{KindEventCancelled, "fr", Formal}:   {"{event} est annulé", "Nous sommes désolés : {event} chez {shop} n'aura pas lieu. {message}"},
	{KindEventCancelled, "fr", Familiar}: {"{event} est annulé", "Désolés : {event} chez {shop} n'aura pas lieu. {message}"},

	{KindWaitlistPromoted, "en", Formal}:   {"A seat for you at {event}", "A seat freed up: you're in for {event}, {when} at {shop}."},
	{KindWaitlistPromoted, "fr", Formal}:   {"Une place pour vous à {event}", "Une place s'est libérée : vous êtes inscrit à {event}, {when} chez {shop}."},
	{KindWaitlistPromoted, "fr", Familiar}: {"Une place pour toi à {event}", "Une place s'est libérée : tu es inscrit à {event}, {when} chez {shop}."},

	{KindLowRating, "en", Formal}:   {"A customer is unhappy at {shop}", "{reason} — a gesture could turn this around."},
	{KindLowRating, "fr", Formal}:   {"Un client est mécontent chez {shop}", "{reason} — un geste pourrait tout changer."},
	{KindLowRating, "fr", Familiar}: {"Un client est mécontent chez {shop}", "{reason} — un geste pourrait tout changer."},

	{KindGesture, "en", Formal}:   {"A gesture from {shop}", "{message}"},
	{KindGesture, "fr", Formal}:   {"Un geste de {shop} pour vous", "{message}"},
	{KindGesture, "fr", Familiar}: {"Un geste de {shop} pour toi", "{message}"},

	{KindReward, "en", Formal}:   {"You earned {points} points", "{reason} Thank you for being with us."},
	{KindReward, "fr", Formal}:   {"Vous avez gagné {points} points", "{reason} Merci d'être avec nous."},
	{KindReward, "fr", Familiar}: {"Tu as gagné {points} points", "{reason} Merci d'être avec nous."},
}

// fallbackTemplates are used when a kind's template renders empty or does
// not exist, so that no message is ever blank.
var fallbackTemplates = map[templateKey]template{
	{"", "en", Formal}:   {"News from {brand}", "Open the app to see what's new for you."},
	{"", "fr", Formal}:   {"Du nouveau chez {brand}", "Ouvrez l'application pour découvrir ce qui vous attend."},
	{"", "fr", Familiar}: {"Du nouveau chez {brand}", "Ouvre l'application pour découvrir ce qui t'attend."},
}

// lookup returns the variant for key, falling back on formality (to formal),
// then on locale (to English).
func lookup(set map[templateKey]template, key templateKey) (template, bool) {
	for _, k := range []templateKey{
		key,
		{key.kind, key.locale, Formal},
		{key.kind, "en", key.formality},
		{key.kind, "en", Formal},
	} {
		if t, ok := set[k]; ok {
			return t, true
		}
	}
	return template{}, false
}

// render fills the template of kind in the customer's locale and formality.
// Missing variables are left empty and blank runs tidied; a title or body
// that ends up empty is replaced by the generic message of the same locale
// and formality, so the result is never empty.
func render(kind NotificationKind, locale string, f Formality, vars map[string]string) (title, body string) {
	fill := func(s string) string { return strings.Join(strings.Fields(expand(s, vars)), " ") }
	if t, ok := lookup(templates, templateKey{kind, locale, f}); ok {
		title, body = fill(t.Title), fill(t.Body)
	}
	fb, _ := lookup(fallbackTemplates, templateKey{"", locale, f})
	if strings.Trim(title, " .,:;!?—-") == "" {
		title = fill(fb.Title)
	}
	if strings.Trim(body, " .,:;!?—-") == "" {
		body = fill(fb.Body)
	}
	return title, body
}

// expand replaces each {name} in s by vars[name], empty when absent. Values
// are inserted as they are, never expanded themselves.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(vars[s[i+1:i+j]])
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}
