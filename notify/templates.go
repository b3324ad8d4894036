package notify

import (
	"strings"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// template is the title and body of one message, with {var} placeholders
// filled from NotificationRequest.Vars (plus "name", the customer's display
// name, and "brand"). An empty Title or Body gives no text of its own: the
// next alternative's is used.
type template struct{ Title, Body string }

// templateKey chooses a template variant. Variant is "" for a kind's generic
// texts; some kinds have texts per variant, chosen by a variable (see
// variantVars).
type templateKey struct {
	kind      hyperlieu.NotificationKind
	variant   string
	locale    string
	formality hyperlieu.Formality
}

// variantVars names, per kind, the variable whose value selects the kind's
// variant texts: each welcome-journey step has its own, and so has each way
// of earning a reward. An unknown value gets the kind's generic texts.
var variantVars = map[hyperlieu.NotificationKind]string{
	hyperlieu.KindJourney: "step", // a JourneyStep's name
	hyperlieu.KindReward:  "for",  // "claim", "referrer" or "referee"
}

// templates holds every text the brand sends, as alternatives in order of
// preference: the title is the first alternative title whose variables are
// all given (non-empty), and so is the body, so that a missing variable
// chooses a text that does without it rather than leaving a hole. English
// has no tu/vous, so it only has formal variants; the familiar lookup falls
// back to them.
var templates = map[templateKey][]template{
	{hyperlieu.KindWelcome, "", "en", hyperlieu.Formal}: {
		{"Welcome to {brand}, {name}", "Besides this welcome, we'll send you at most {max} messages a day: offers near you, local events and your rewards, never between {quietFrom} and {quietTo}. Change this any time in your settings."},
		{"Welcome to {brand}", "Besides this welcome, we'll send you at most {max} messages a day: offers near you, local events and your rewards. Change this any time in your settings."},
		{"", "Offers near you, local events and your rewards: choose what we send you, and when, in your settings."},
	},
	{hyperlieu.KindWelcome, "", "fr", hyperlieu.Formal}: {
		{"Bienvenue chez {brand}, {name}", "En plus de ce message de bienvenue, nous vous enverrons au plus {max} messages par jour : des offres près de chez vous, nos événements et vos récompenses, jamais entre {quietFrom} et {quietTo}. Vous pouvez changer cela à tout moment dans vos réglages."},
		{"Bienvenue chez {brand}", "En plus de ce message de bienvenue, nous vous enverrons au plus {max} messages par jour : des offres près de chez vous, nos événements et vos récompenses. Vous pouvez changer cela à tout moment dans vos réglages."},
		{"", "Des offres près de chez vous, nos événements et vos récompenses : choisissez ce que nous vous envoyons, et quand, dans vos réglages."},
	},
	{hyperlieu.KindWelcome, "", "fr", hyperlieu.Familiar}: {
		{"Bienvenue chez {brand}, {name}", "En plus de ce message de bienvenue, on t'enverra au plus {max} messages par jour : des offres près de chez toi, nos événements et tes récompenses, jamais entre {quietFrom} et {quietTo}. Tu peux changer ça à tout moment dans tes réglages."},
		{"Bienvenue chez {brand}", "En plus de ce message de bienvenue, on t'enverra au plus {max} messages par jour : des offres près de chez toi, nos événements et tes récompenses. Tu peux changer ça à tout moment dans tes réglages."},
		{"", "Des offres près de chez toi, nos événements et tes récompenses : choisis ce qu'on t'envoie, et quand, dans tes réglages."},
	},

	// The welcome journey: one text per configured step (HYPERLIEU_JOURNEY),
	// and a generic one for steps without their own.
	{hyperlieu.KindJourney, "events_near_you", "en", hyperlieu.Formal}: {
		{"Events near you", "Workshops, tastings and meet-ups happen at {brand} shops near you. Open the app to see what's on this week."},
	},
	{hyperlieu.KindJourney, "events_near_you", "fr", hyperlieu.Formal}: {
		{"Des événements près de chez vous", "Ateliers, dégustations et rencontres ont lieu dans les boutiques {brand} près de chez vous. Ouvrez l'application pour voir le programme de la semaine."},
	},
	{hyperlieu.KindJourney, "events_near_you", "fr", hyperlieu.Familiar}: {
		{"Des événements près de chez toi", "Ateliers, dégustations et rencontres ont lieu dans les boutiques {brand} près de chez toi. Ouvre l'application pour voir le programme de la semaine."},
	},
	{hyperlieu.KindJourney, "first_offer", "en", hyperlieu.Formal}: {
		{"Offers on your way", "When you pass by a {brand} shop, an offer may land in your wallet. Keep location on to get them."},
	},
	{hyperlieu.KindJourney, "first_offer", "fr", hyperlieu.Formal}: {
		{"Des offres sur votre chemin", "Quand vous passez près d'une boutique {brand}, une offre peut arriver dans votre portefeuille. Gardez la localisation activée pour en profiter."},
	},
	{hyperlieu.KindJourney, "first_offer", "fr", hyperlieu.Familiar}: {
		{"Des offres sur ton chemin", "Quand tu passes près d'une boutique {brand}, une offre peut arriver dans ton portefeuille. Garde la localisation activée pour en profiter."},
	},
	{hyperlieu.KindJourney, "", "en", hyperlieu.Formal}: {
		{"Getting started with {brand}", "Discover what {brand} has for you: offers, events and rewards near you."},
	},
	{hyperlieu.KindJourney, "", "fr", hyperlieu.Formal}: {
		{"Bien démarrer avec {brand}", "Découvrez ce que {brand} vous réserve : offres, événements et récompenses près de chez vous."},
	},
	{hyperlieu.KindJourney, "", "fr", hyperlieu.Familiar}: {
		{"Bien démarrer avec {brand}", "Découvre ce que {brand} te réserve : offres, événements et récompenses près de chez toi."},
	},

	// Offers: the campaign's own texts (already in the customer's language
	// and tone) when it has them.
	{hyperlieu.KindOffer, "", "en", hyperlieu.Formal}: {
		{"{offer}", "{message}"},
		{"An offer for you", "{offer} is waiting in your wallet. Show code {code} at the counter."},
		{"", "It's waiting in your wallet: open the app to see it."},
	},
	{hyperlieu.KindOffer, "", "fr", hyperlieu.Formal}: {
		{"{offer}", "{message}"},
		{"Une offre pour vous", "{offer} vous attend dans votre portefeuille. Présentez le code {code} en caisse."},
		{"", "Elle vous attend dans votre portefeuille : ouvrez l'application pour la voir."},
	},
	{hyperlieu.KindOffer, "", "fr", hyperlieu.Familiar}: {
		{"{offer}", "{message}"},
		{"Une offre pour toi", "{offer} t'attend dans ton portefeuille. Montre le code {code} en caisse."},
		{"", "Elle t'attend dans ton portefeuille : ouvre l'application pour la voir."},
	},

	{hyperlieu.KindEventAnnounced, "", "en", hyperlieu.Formal}: {
		{"New near you: {event}", "{event} at {shop}, {when}. Would you like to come?"},
		{"", "{event} at {shop}. Would you like to come?"},
	},
	{hyperlieu.KindEventAnnounced, "", "fr", hyperlieu.Formal}: {
		{"Nouveau près de chez vous : {event}", "{event} chez {shop}, {when}. Vous venez ?"},
		{"", "{event} chez {shop}. Vous venez ?"},
	},
	{hyperlieu.KindEventAnnounced, "", "fr", hyperlieu.Familiar}: {
		{"Nouveau près de chez toi : {event}", "{event} chez {shop}, {when}. Tu viens ?"},
		{"", "{event} chez {shop}. Tu viens ?"},
	},

	{hyperlieu.KindEventReminder, "", "en", hyperlieu.Formal}: {
		{"{event} starts soon", "See you at {shop}, {when}."},
		{"", "See you at {shop}."},
	},
	{hyperlieu.KindEventReminder, "", "fr", hyperlieu.Formal}: {
		{"{event} commence bientôt", "Nous vous attendons chez {shop}, {when}."},
		{"", "Nous vous attendons chez {shop}."},
	},
	{hyperlieu.KindEventReminder, "", "fr", hyperlieu.Familiar}: {
		{"{event} commence bientôt", "On t'attend chez {shop}, {when}."},
		{"", "On t'attend chez {shop}."},
	},

	{hyperlieu.KindEventChanged, "", "en", hyperlieu.Formal}: {
		{"{event} has changed", "It now takes place at {shop}, {when}. We hope to see you there."},
		{"", "It now takes place at {shop}. We hope to see you there."},
	},
	{hyperlieu.KindEventChanged, "", "fr", hyperlieu.Formal}: {
		{"{event} a changé", "L'événement a désormais lieu chez {shop}, {when}. Nous comptons toujours sur vous."},
		{"", "L'événement a désormais lieu chez {shop}. Nous comptons toujours sur vous."},
	},
	{hyperlieu.KindEventChanged, "", "fr", hyperlieu.Familiar}: {
		{"{event} a changé", "L'événement a maintenant lieu chez {shop}, {when}. On compte toujours sur toi !"},
		{"", "L'événement a maintenant lieu chez {shop}. On compte toujours sur toi !"},
	},

	{hyperlieu.KindEventCancelled, "", "en", hyperlieu.Formal}: {
		{"Cancelled: {event}", "We're sorry: {event} at {shop} will not take place. {reason} We'll keep you posted about the next ones."},
		{"", "We're sorry: {event} at {shop} will not take place. We'll keep you posted about the next ones."},
	},
	{hyperlieu.KindEventCancelled, "", "fr", hyperlieu.Formal}: {
		{"Annulé : {event}", "Nous sommes désolés : {event} chez {shop} n'aura pas lieu. {reason} Nous vous tiendrons au courant des prochains événements."},
		{"", "Nous sommes désolés : {event} chez {shop} n'aura pas lieu. Nous vous tiendrons au courant des prochains événements."},
	},
	{hyperlieu.KindEventCancelled, "", "fr", hyperlieu.Familiar}: {
		{"Annulé : {event}", "Désolés : {event} chez {shop} n'aura pas lieu. {reason} On te tient au courant des prochains événements."},
		{"", "Désolés : {event} chez {shop} n'aura pas lieu. On te tient au courant des prochains événements."},
	},

	{hyperlieu.KindWaitlistPromoted, "", "en", hyperlieu.Formal}: {
		{"A seat for you at {event}", "A seat freed up: you're in for {event} at {shop}, {when}."},
		{"", "A seat freed up: you're in for {event} at {shop}."},
	},
	{hyperlieu.KindWaitlistPromoted, "", "fr", hyperlieu.Formal}: {
		{"Une place pour vous à {event}", "Une place s'est libérée : elle est à vous pour {event} chez {shop}, {when}."},
		{"", "Une place s'est libérée : elle est à vous pour {event} chez {shop}."},
	},
	{hyperlieu.KindWaitlistPromoted, "", "fr", hyperlieu.Familiar}: {
		{"Une place pour toi à {event}", "Une place s'est libérée : elle est à toi pour {event} chez {shop}, {when}."},
		{"", "Une place s'est libérée : elle est à toi pour {event} chez {shop}."},
	},

	// Low ratings go to a shop's managers: about an event (events) or about
	// the shop itself (fans), with or without a comment.
	{hyperlieu.KindLowRating, "", "en", hyperlieu.Formal}: {
		{"A customer is unhappy at {shop}", "{event} was rated {rating}/5: “{comment}” A gesture could turn this around."},
		{"A customer is unhappy", "{event} was rated {rating}/5. A gesture could turn this around."},
		{"", "Rated {rating}/5: “{comment}” A gesture could turn this around."},
		{"", "Rated {rating}/5. A gesture could turn this around."},
		{"", "A customer left a low rating. A gesture could turn this around."},
	},
	{hyperlieu.KindLowRating, "", "fr", hyperlieu.Formal}: {
		{"Un client est mécontent chez {shop}", "{event} a reçu la note de {rating}/5 : « {comment} » Un geste de votre part pourrait tout changer."},
		{"Un client est mécontent", "{event} a reçu la note de {rating}/5. Un geste de votre part pourrait tout changer."},
		{"", "Note de {rating}/5 : « {comment} » Un geste de votre part pourrait tout changer."},
		{"", "Note de {rating}/5. Un geste de votre part pourrait tout changer."},
		{"", "Un client a laissé une mauvaise note. Un geste de votre part pourrait tout changer."},
	},
	{hyperlieu.KindLowRating, "", "fr", hyperlieu.Familiar}: {
		{"Un client est mécontent chez {shop}", "{event} a reçu la note de {rating}/5 : « {comment} » Un geste de ta part pourrait tout changer."},
		{"Un client est mécontent", "{event} a reçu la note de {rating}/5. Un geste de ta part pourrait tout changer."},
		{"", "Note de {rating}/5 : « {comment} » Un geste de ta part pourrait tout changer."},
		{"", "Note de {rating}/5. Un geste de ta part pourrait tout changer."},
		{"", "Un client a laissé une mauvaise note. Un geste de ta part pourrait tout changer."},
	},

	// A manager's gesture: their own message, with an offer or points.
	{hyperlieu.KindGesture, "", "en", hyperlieu.Formal}: {
		{"A gesture from {shop}", "{message} Your offer: {offer}, code {code}."},
		{"A gesture for you", "{message} {points} points have been added to your account."},
		{"", "{message}"},
		{"", "Open the app to see it."},
	},
	{hyperlieu.KindGesture, "", "fr", hyperlieu.Formal}: {
		{"Un geste de la boutique {shop} pour vous", "{message} Votre offre : {offer}, code {code}."},
		{"Un geste pour vous", "{message} {points} points ont été ajoutés à votre compte."},
		{"", "{message}"},
		{"", "Ouvrez l'application pour le découvrir."},
	},
	{hyperlieu.KindGesture, "", "fr", hyperlieu.Familiar}: {
		{"Un geste de la boutique {shop} pour toi", "{message} Ton offre : {offer}, code {code}."},
		{"Un geste pour toi", "{message} {points} points ont été ajoutés à ton compte."},
		{"", "{message}"},
		{"", "Ouvre l'application pour le découvrir."},
	},

	// After a visit to a shop: how was it? (fans' visits.go)
	{hyperlieu.KindVisitAsk, "", "en", hyperlieu.Formal}: {
		{"How was your visit to {shop}?", "Tell us in one tap: your rating goes straight to the team."},
		{"How was your visit?", "Tell us in one tap: your rating goes straight to the team."},
	},
	{hyperlieu.KindVisitAsk, "", "fr", hyperlieu.Formal}: {
		{"Comment s'est passée votre visite chez {shop} ?", "Dites-le-nous en un geste : votre note va directement à l'équipe."},
		{"Comment s'est passée votre visite ?", "Dites-le-nous en un geste : votre note va directement à l'équipe."},
	},
	{hyperlieu.KindVisitAsk, "", "fr", hyperlieu.Familiar}: {
		{"Comment s'est passée ta visite chez {shop} ?", "Dis-le-nous en un geste : ta note va directement à l'équipe."},
		{"Comment s'est passée ta visite ?", "Dis-le-nous en un geste : ta note va directement à l'équipe."},
	},

	// Rewards: a claimed catalogue reward, a referral on either side, or
	// points in general.
	{hyperlieu.KindReward, "claim", "en", hyperlieu.Formal}: {
		{"Your reward: {offer}", "Show code {code} at the counter to enjoy it."},
		{"Your reward is ready", "Open your wallet to use it."},
	},
	{hyperlieu.KindReward, "claim", "fr", hyperlieu.Formal}: {
		{"Votre récompense : {offer}", "Présentez le code {code} en caisse pour en profiter."},
		{"Votre récompense est prête", "Ouvrez votre portefeuille pour en profiter."},
	},
	{hyperlieu.KindReward, "claim", "fr", hyperlieu.Familiar}: {
		{"Ta récompense : {offer}", "Montre le code {code} en caisse pour en profiter."},
		{"Ta récompense est prête", "Ouvre ton portefeuille pour en profiter."},
	},
	{hyperlieu.KindReward, "referrer", "en", hyperlieu.Formal}: {
		{"A friend joined {brand}", "Thank you for spreading the word: you earned {points} points."},
	},
	{hyperlieu.KindReward, "referrer", "fr", hyperlieu.Formal}: {
		{"Un ami a rejoint {brand}", "Merci d'avoir parlé de nous : vous avez gagné {points} points."},
	},
	{hyperlieu.KindReward, "referrer", "fr", hyperlieu.Familiar}: {
		{"Un ami a rejoint {brand}", "Merci d'avoir parlé de nous : tu as gagné {points} points."},
	},
	{hyperlieu.KindReward, "referee", "en", hyperlieu.Formal}: {
		{"Welcome bonus: {points} points", "Thank you for joining through a friend. Your points are waiting in your account."},
	},
	{hyperlieu.KindReward, "referee", "fr", hyperlieu.Formal}: {
		{"Bonus de bienvenue : {points} points", "Merci de nous avoir rejoints grâce à un ami. Vos points vous attendent sur votre compte."},
	},
	{hyperlieu.KindReward, "referee", "fr", hyperlieu.Familiar}: {
		{"Bonus de bienvenue : {points} points", "Merci de nous avoir rejoints grâce à un ami. Tes points t'attendent sur ton compte."},
	},
	{hyperlieu.KindReward, "", "en", hyperlieu.Formal}: {
		{"You earned {points} points", "Thank you for being with us."},
		{"A reward for you", ""},
	},
	{hyperlieu.KindReward, "", "fr", hyperlieu.Formal}: {
		{"Vous avez gagné {points} points", "Merci de votre fidélité."},
		{"Une récompense pour vous", ""},
	},
	{hyperlieu.KindReward, "", "fr", hyperlieu.Familiar}: {
		{"Tu as gagné {points} points", "Merci de ta fidélité."},
		{"Une récompense pour toi", ""},
	},
}

// fallbackTemplates are used when a kind has no template whose variables
// are all given, so that no message is ever blank: their last title and
// body need no variable at all.
var fallbackTemplates = map[templateKey][]template{
	{"", "", "en", hyperlieu.Formal}:   {{"News from {brand}", "Open the app to see what's new for you."}, {"News for you", ""}},
	{"", "", "fr", hyperlieu.Formal}:   {{"Du nouveau chez {brand}", "Ouvrez l'application pour découvrir ce qui vous attend."}, {"Du nouveau pour vous", ""}},
	{"", "", "fr", hyperlieu.Familiar}: {{"Du nouveau chez {brand}", "Ouvre l'application pour découvrir ce qui t'attend."}, {"Du nouveau pour toi", ""}},
}

// lookup returns the variant for key, falling back on formality (to formal),
// then on locale (to English).
func lookup[T any](set map[templateKey]T, key templateKey) (T, bool) {
	for _, k := range []templateKey{
		key,
		{key.kind, key.variant, key.locale, hyperlieu.Formal},
		{key.kind, key.variant, "en", key.formality},
		{key.kind, key.variant, "en", hyperlieu.Formal},
	} {
		if t, ok := set[k]; ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

// render fills the template of kind in the customer's locale and formality.
// The variant texts chosen by the kind's variant variable come first, then
// the kind's generic texts, then the generic message of the brand; within
// them, the title and the body are each the first whose variables are all
// given. So a missing variable never leaves a hole, and the result is never
// empty (given a brand). A "startsAt" variable (RFC 3339, in the place's
// offset) provides "when", written the locale's way.
func render(kind hyperlieu.NotificationKind, locale string, f hyperlieu.Formality, vars map[string]string) (title, body string) {
	vars = withWhen(vars, locale)
	var alts []template
	if name, ok := variantVars[kind]; ok && vars[name] != "" {
		t, _ := lookup(templates, templateKey{kind, vars[name], locale, f})
		alts = append(alts, t...)
	}
	t, _ := lookup(templates, templateKey{kind, "", locale, f})
	alts = append(alts, t...)
	fb, _ := lookup(fallbackTemplates, templateKey{"", "", locale, f})
	alts = append(alts, fb...)
	pick := func(text func(template) string) string {
		for _, a := range alts {
			if s := text(a); s != "" && given(s, vars) {
				return strings.Join(strings.Fields(expand(s, vars)), " ")
			}
		}
		return ""
	}
	return pick(func(t template) string { return t.Title }), pick(func(t template) string { return t.Body })
}

// given reports whether every {var} of s has a non-blank value in vars.
func given(s string, vars map[string]string) bool {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return true
		}
		if strings.TrimSpace(vars[s[i+1:i+j]]) == "" {
			return false
		}
		s = s[i+j+1:]
	}
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

// withWhen returns vars with "when" written from "startsAt" for the locale,
// or vars unchanged when there is no valid startsAt.
func withWhen(vars map[string]string, locale string) map[string]string {
	at, err := time.Parse(time.RFC3339, vars["startsAt"])
	if err != nil {
		return vars
	}
	out := make(map[string]string, len(vars)+1)
	for k, v := range vars {
		out[k] = v
	}
	out["when"] = LocalTime(at, locale)
	return out
}

var (
	frenchDays   = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
)

// LocalTime writes t's wall clock (in t's own location) the locale's way:
// "samedi 14 juin à 10h00" in French, "Saturday 14 June at 10:00" otherwise.
func LocalTime(t time.Time, locale string) string {
	if locale == "fr" {
		return frenchDays[t.Weekday()] + " " + t.Format("2") + " " + frenchMonths[t.Month()-1] + " à " + t.Format("15h04")
	}
	return t.Format("Monday 2 January at 15:04")
}
