"""Words of "pay on a date" (:mod:`dunning.web.promise`): the form, its refusals, the promise made."""

TEXTS = {
    "en": {
        "promise_heading": "Pay on a later date",
        "promise_intro": "Can't pay today? Choose the day you will pay, at the latest {latest}. Until then we send "
        "you no reminders.",
        "promise_date": "I will pay by",
        "promise_submit": "Confirm this date",
        "promise_made": "Thank you. You said you would pay by {date}.",
        "promise_made_more": "Until then we send you no reminders. If your payment has not reached us by {end}, "
        "the usual reminders resume.",
        "promise_broken": "You said you would pay by {date}, but we have not received your payment. Please pay now.",
        "promise_error_missing": "Please choose a date.",
        "promise_error_past": "Please choose a date from {earliest}: the date you chose has already passed.",
        "promise_error_too_late": "Please choose a date no later than {latest}.",
    },
    "nl": {
        "promise_heading": "Later betalen, op een datum",
        "promise_intro": "Kunt u vandaag niet betalen? Kies de dag waarop u betaalt, uiterlijk {latest}. Tot dan "
        "sturen we u geen herinneringen.",
        "promise_date": "Ik betaal uiterlijk op",
        "promise_submit": "Deze datum bevestigen",
        "promise_made": "Dank u. U hebt gezegd dat u uiterlijk op {date} betaalt.",
        "promise_made_more": "Tot dan sturen we u geen herinneringen. Als uw betaling ons op {end} nog niet heeft "
        "bereikt, volgen de gewone herinneringen weer.",
        "promise_broken": "U hebt gezegd dat u uiterlijk op {date} zou betalen, maar we hebben uw betaling niet "
        "ontvangen. Betaal nu, alstublieft.",
        "promise_error_missing": "Kies een datum.",
        "promise_error_past": "Kies een datum vanaf {earliest}: de gekozen datum is al voorbij.",
        "promise_error_too_late": "Kies een datum uiterlijk op {latest}.",
    },
    "fr": {
        "promise_heading": "Payer plus tard, à une date",
        "promise_intro": "Vous ne pouvez pas payer aujourd'hui ? Choisissez le jour où vous paierez, au plus tard "
        "le {latest}. D'ici là, nous ne vous envoyons aucun rappel.",
        "promise_date": "Je paierai au plus tard le",
        "promise_submit": "Confirmer cette date",
        "promise_made": "Merci. Vous avez indiqué que vous paierez au plus tard le {date}.",
        "promise_made_more": "D'ici là, nous ne vous envoyons aucun rappel. Si votre paiement ne nous est pas "
        "parvenu le {end}, les rappels habituels reprendront.",
        "promise_broken": "Vous aviez indiqué payer au plus tard le {date}, mais nous n'avons pas reçu votre "
        "paiement. Veuillez payer maintenant.",
        "promise_error_missing": "Veuillez choisir une date.",
        "promise_error_past": "Veuillez choisir une date à partir du {earliest} : la date choisie est déjà passée.",
        "promise_error_too_late": "Veuillez choisir une date au plus tard le {latest}.",
    },
    "de": {
        "promise_heading": "Später zahlen, zu einem Datum",
        "promise_intro": "Sie können heute nicht zahlen? Wählen Sie den Tag, an dem Sie zahlen, spätestens den "
        "{latest}. Bis dahin senden wir Ihnen keine Mahnungen.",
        "promise_date": "Ich zahle spätestens am",
        "promise_submit": "Dieses Datum bestätigen",
        "promise_made": "Vielen Dank. Sie haben zugesagt, bis zum {date} zu zahlen.",
        "promise_made_more": "Bis dahin senden wir Ihnen keine Mahnungen. Ist Ihre Zahlung bis zum {end} nicht bei "
        "uns eingegangen, geht das übliche Mahnverfahren weiter.",
        "promise_broken": "Sie hatten zugesagt, bis zum {date} zu zahlen, aber Ihre Zahlung ist nicht eingegangen. "
        "Bitte zahlen Sie jetzt.",
        "promise_error_missing": "Bitte wählen Sie ein Datum.",
        "promise_error_past": "Bitte wählen Sie ein Datum ab dem {earliest}: das gewählte Datum ist schon vorbei.",
        "promise_error_too_late": "Bitte wählen Sie ein Datum spätestens am {latest}.",
    },
}
