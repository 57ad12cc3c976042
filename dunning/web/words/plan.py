"""Words of "pay in instalments" (:mod:`dunning.web.plan`): the offer, the choice, the terms, the schedule."""

TEXTS = {
    "en": {
        "plan_heading": "Pay in instalments",
        "plan_due_day": "Each instalment falls due on day {day} of the month.",
        "plan_due_day_history": "Each instalment falls due on day {day} of the month, close to when your earlier "
        "payments arrived.",
        "plan_intro": "Can't pay it all at once? Pay {total} in monthly instalments, without further costs.",
        "plan_open": "See the instalment plans",
        "plan_choose": "Choose a plan",
        "plan_option": "{count} instalments of {amount}",
        "plan_option_last": "{count} instalments: {amount} each, the last {last}",
        "plan_from_to": "from {first} to {last}",
        "plan_number": "Instalment",
        "plan_due": "Due on",
        "plan_amount": "Amount",
        "plan_reference": "Reference",
        "plan_status": "Status",
        "plan_terms_heading": "Terms",
        "plan_terms_text": "I agree to pay the instalments of the plan I chose on their dates, each with its own "
        "reference. While I keep to it, {creditor} sends no reminders and charges no further costs. {miss} "
        "{breach}",
        "plan_miss_remind": "An instalment still unpaid {grace} days after its date is reminded.",
        "plan_miss_defer": "An instalment still unpaid {grace} days after its date moves to the end of the plan "
        "(at most {deferrals} time(s)).",
        "plan_miss_spread": "What is left of an instalment still unpaid {grace} days after its date is spread "
        "over more, smaller instalments.",
        "plan_breach": "If {missed} instalments in a row are missed, the plan ends after a notice of {notice} "
        "days and the rest falls due.",
        "plan_terms_version": "Terms version {version}",
        "plan_accept": "I accept these terms",
        "plan_submit": "Agree this plan",
        "plan_error_count": "Please choose one of the plans.",
        "plan_error_terms": "Please accept the terms to agree the plan.",
        "plan_refused_closed": "This file cannot be paid in instalments any more.",
        "plan_refused_held": "This file is on hold while a person looks at your message: a plan can be agreed "
        "once they have answered you.",
        "plan_refused_policy": "An instalment plan cannot be offered for this amount. Please contact us.",
        "plan_refused_disabled": "Instalment plans are not offered here. Please contact us.",
        "plan_refused_already": "This file already has a payment plan.",
        "plan_refused_busy": "We could not record your plan just now. Please try again in a minute.",
        "plan_made": "Your payment plan is agreed. We send you no reminders while you keep to it.",
        "plan_emailed": "We have emailed you its terms.",
        "plan_schedule": "Your instalments",
        "plan_state_paid": "paid",
        "plan_state_open": "open",
        "plan_state_next": "next due",
        "plan_state_deferred": "moved to the end",
        "plan_state_waived": "waived",
        "plan_next": "Next instalment: {amount} by {date}",
        "plan_qr_alt": "Payment QR code of instalment {number}: {amount} to {creditor}, reference {reference}",
        "plan_done": "Every instalment is paid. Thank you.",
    },
    "nl": {
        "plan_heading": "Betalen in termijnen",
        "plan_due_day": "Elke termijn vervalt op dag {day} van de maand.",
        "plan_due_day_history": "Elke termijn vervalt op dag {day} van de maand, dicht bij wanneer uw vorige "
        "betalingen binnenkwamen.",
        "plan_intro": "Kunt u niet alles in één keer betalen? Betaal {total} in maandelijkse termijnen, zonder "
        "verdere kosten.",
        "plan_open": "Bekijk de betalingsregelingen",
        "plan_choose": "Kies een regeling",
        "plan_option": "{count} termijnen van {amount}",
        "plan_option_last": "{count} termijnen: telkens {amount}, de laatste {last}",
        "plan_from_to": "van {first} tot {last}",
        "plan_number": "Termijn",
        "plan_due": "Vervalt op",
        "plan_amount": "Bedrag",
        "plan_reference": "Mededeling",
        "plan_status": "Stand",
        "plan_terms_heading": "Voorwaarden",
        "plan_terms_text": "Ik betaal de termijnen van de gekozen regeling op hun vervaldag, elk met zijn eigen "
        "mededeling. Zolang ik ze nakom, stuurt {creditor} geen herinneringen en rekent geen verdere kosten "
        "aan. {miss} {breach}",
        "plan_miss_remind": "Voor een termijn die {grace} dagen na de vervaldag nog openstaat, volgt een "
        "herinnering.",
        "plan_miss_defer": "Een termijn die {grace} dagen na de vervaldag nog openstaat, schuift naar het einde "
        "van de regeling (hoogstens {deferrals} keer).",
        "plan_miss_spread": "Wat van een termijn {grace} dagen na de vervaldag nog openstaat, wordt over meer, "
        "kleinere termijnen verdeeld.",
        "plan_breach": "Worden {missed} termijnen na elkaar gemist, dan eindigt de regeling na een termijn van "
        "{notice} dagen en is het restant opeisbaar.",
        "plan_terms_version": "Voorwaarden versie {version}",
        "plan_accept": "Ik aanvaard deze voorwaarden",
        "plan_submit": "Deze regeling afspreken",
        "plan_error_count": "Kies een van de regelingen.",
        "plan_error_terms": "Aanvaard de voorwaarden om de regeling af te spreken.",
        "plan_refused_closed": "Dit dossier kan niet meer in termijnen worden betaald.",
        "plan_refused_held": "Dit dossier staat stil terwijl een medewerker uw bericht bekijkt: een regeling "
        "kan worden afgesproken zodra u antwoord hebt.",
        "plan_refused_policy": "Voor dit bedrag kunnen we geen betalingsregeling aanbieden. Neem contact met ons op.",
        "plan_refused_disabled": "Betalingsregelingen worden hier niet aangeboden. Neem contact met ons op.",
        "plan_refused_already": "Dit dossier heeft al een betalingsregeling.",
        "plan_refused_busy": "We konden uw regeling nu niet vastleggen. Probeer het over een minuut opnieuw.",
        "plan_made": "Uw betalingsregeling is afgesproken. Zolang u ze nakomt, sturen we u geen herinneringen.",
        "plan_emailed": "We hebben u de voorwaarden gemaild.",
        "plan_schedule": "Uw termijnen",
        "plan_state_paid": "betaald",
        "plan_state_open": "open",
        "plan_state_next": "volgende",
        "plan_state_deferred": "naar het einde verschoven",
        "plan_state_waived": "kwijtgescholden",
        "plan_next": "Volgende termijn: {amount} uiterlijk op {date}",
        "plan_qr_alt": "Betaal-QR-code van termijn {number}: {amount} aan {creditor}, mededeling {reference}",
        "plan_done": "Alle termijnen zijn betaald. Dank u.",
    },
    "fr": {
        "plan_heading": "Payer en plusieurs fois",
        "plan_due_day": "Chaque mensualité est due le {day} du mois.",
        "plan_due_day_history": "Chaque mensualité est due le {day} du mois, proche du moment où vos "
        "paiements précédents sont arrivés.",
        "plan_intro": "Vous ne pouvez pas tout payer en une fois ? Payez {total} en mensualités, sans frais "
        "supplémentaires.",
        "plan_open": "Voir les plans de paiement",
        "plan_choose": "Choisissez un plan",
        "plan_option": "{count} mensualités de {amount}",
        "plan_option_last": "{count} mensualités : {amount} chacune, la dernière {last}",
        "plan_from_to": "du {first} au {last}",
        "plan_number": "Mensualité",
        "plan_due": "Échéance",
        "plan_amount": "Montant",
        "plan_reference": "Communication",
        "plan_status": "État",
        "plan_terms_heading": "Conditions",
        "plan_terms_text": "Je paie les mensualités du plan choisi à leur échéance, chacune avec sa propre "
        "communication. Tant que je le respecte, {creditor} n'envoie aucun rappel et ne compte aucun frais "
        "supplémentaire. {miss} {breach}",
        "plan_miss_remind": "Une mensualité impayée {grace} jours après son échéance fait l'objet d'un rappel.",
        "plan_miss_defer": "Une mensualité impayée {grace} jours après son échéance est reportée à la fin du plan "
        "({deferrals} fois au plus).",
        "plan_miss_spread": "Le solde d'une mensualité impayée {grace} jours après son échéance est réparti sur "
        "des mensualités plus nombreuses et plus petites.",
        "plan_breach": "Si {missed} mensualités de suite sont manquées, le plan prend fin après un délai de "
        "{notice} jours et le solde est exigible.",
        "plan_terms_version": "Conditions version {version}",
        "plan_accept": "J'accepte ces conditions",
        "plan_submit": "Convenir de ce plan",
        "plan_error_count": "Veuillez choisir l'un des plans.",
        "plan_error_terms": "Veuillez accepter les conditions pour convenir du plan.",
        "plan_refused_closed": "Ce dossier ne peut plus être payé en plusieurs fois.",
        "plan_refused_held": "Ce dossier est suspendu pendant qu'une personne examine votre message : un plan "
        "pourra être convenu après sa réponse.",
        "plan_refused_policy": "Aucun plan de paiement ne peut être proposé pour ce montant. Contactez-nous.",
        "plan_refused_disabled": "Les plans de paiement ne sont pas proposés ici. Contactez-nous.",
        "plan_refused_already": "Ce dossier a déjà un plan de paiement.",
        "plan_refused_busy": "Nous n'avons pas pu enregistrer votre plan. Réessayez dans une minute.",
        "plan_made": "Votre plan de paiement est convenu. Tant que vous le respectez, nous ne vous envoyons "
        "aucun rappel.",
        "plan_emailed": "Nous vous avons envoyé ses conditions par e-mail.",
        "plan_schedule": "Vos mensualités",
        "plan_state_paid": "payée",
        "plan_state_open": "ouverte",
        "plan_state_next": "prochaine",
        "plan_state_deferred": "reportée à la fin",
        "plan_state_waived": "remise",
        "plan_next": "Prochaine mensualité : {amount} au plus tard le {date}",
        "plan_qr_alt": "Code QR de paiement de la mensualité {number} : {amount} à {creditor}, communication "
        "{reference}",
        "plan_done": "Toutes les mensualités sont payées. Merci.",
    },
    "de": {
        "plan_heading": "In Raten zahlen",
        "plan_due_day": "Jede Rate ist am {day}. des Monats fällig.",
        "plan_due_day_history": "Jede Rate ist am {day}. des Monats fällig, nahe dem Zeitpunkt, zu dem Ihre "
        "früheren Zahlungen eingingen.",
        "plan_intro": "Sie können nicht alles auf einmal zahlen? Zahlen Sie {total} in Monatsraten, ohne weitere "
        "Kosten.",
        "plan_open": "Ratenpläne ansehen",
        "plan_choose": "Wählen Sie einen Plan",
        "plan_option": "{count} Raten zu {amount}",
        "plan_option_last": "{count} Raten: je {amount}, die letzte {last}",
        "plan_from_to": "vom {first} bis {last}",
        "plan_number": "Rate",
        "plan_due": "Fällig am",
        "plan_amount": "Betrag",
        "plan_reference": "Verwendungszweck",
        "plan_status": "Stand",
        "plan_terms_heading": "Bedingungen",
        "plan_terms_text": "Ich zahle die Raten des gewählten Plans zu ihren Terminen, jede mit ihrem eigenen "
        "Verwendungszweck. Solange ich ihn einhalte, sendet {creditor} keine Mahnungen und berechnet keine "
        "weiteren Kosten. {miss} {breach}",
        "plan_miss_remind": "An eine Rate, die {grace} Tage nach Fälligkeit offen ist, wird erinnert.",
        "plan_miss_defer": "Eine Rate, die {grace} Tage nach Fälligkeit offen ist, wird ans Ende des Plans "
        "verschoben (höchstens {deferrals}-mal).",
        "plan_miss_spread": "Der Rest einer Rate, die {grace} Tage nach Fälligkeit offen ist, wird auf mehr, "
        "kleinere Raten verteilt.",
        "plan_breach": "Bleiben {missed} Raten in Folge offen, endet der Plan nach einer Frist von {notice} Tagen "
        "und der Rest wird fällig.",
        "plan_terms_version": "Bedingungen Version {version}",
        "plan_accept": "Ich nehme diese Bedingungen an",
        "plan_submit": "Diesen Plan vereinbaren",
        "plan_error_count": "Bitte wählen Sie einen der Pläne.",
        "plan_error_terms": "Bitte nehmen Sie die Bedingungen an, um den Plan zu vereinbaren.",
        "plan_refused_closed": "Dieser Vorgang kann nicht mehr in Raten gezahlt werden.",
        "plan_refused_held": "Dieser Vorgang ruht, während eine Person Ihre Nachricht prüft: Ein Plan kann "
        "vereinbart werden, sobald sie Ihnen geantwortet hat.",
        "plan_refused_policy": "Für diesen Betrag können wir keinen Ratenplan anbieten. Bitte kontaktieren Sie uns.",
        "plan_refused_disabled": "Ratenpläne werden hier nicht angeboten. Bitte kontaktieren Sie uns.",
        "plan_refused_already": "Dieser Vorgang hat bereits einen Ratenplan.",
        "plan_refused_busy": "Wir konnten Ihren Plan gerade nicht speichern. Bitte versuchen Sie es in einer "
        "Minute erneut.",
        "plan_made": "Ihr Ratenplan ist vereinbart. Solange Sie ihn einhalten, senden wir Ihnen keine Mahnungen.",
        "plan_emailed": "Wir haben Ihnen die Bedingungen per E-Mail gesendet.",
        "plan_schedule": "Ihre Raten",
        "plan_state_paid": "bezahlt",
        "plan_state_open": "offen",
        "plan_state_next": "als Nächste fällig",
        "plan_state_deferred": "ans Ende verschoben",
        "plan_state_waived": "erlassen",
        "plan_next": "Nächste Rate: {amount} bis {date}",
        "plan_qr_alt": "Zahlungs-QR-Code der Rate {number}: {amount} an {creditor}, Verwendungszweck {reference}",
        "plan_done": "Alle Raten sind bezahlt. Vielen Dank.",
    },
}
