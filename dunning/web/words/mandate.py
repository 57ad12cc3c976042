"""Words of the SEPA mandate on the plan page (:mod:`dunning.usecases.paypage.plan_mandate`)."""

TEXTS = {
    "en": {
        "mandate_heading": "Pay by direct debit",
        "mandate_intro": "Let us collect each instalment from your account on its date: then you need do nothing.",
        "mandate_iban": "Your IBAN",
        "mandate_holder": "Account holder (if not you)",
        "mandate_text": "By ticking this box you authorise {creditor} to send instructions to your bank to debit "
        "your account, and your bank to debit your account in accordance with those instructions (SEPA Core). "
        "You are entitled to a refund from your bank under the terms of your agreement with it; a refund must be "
        "claimed within 8 weeks from the date your account was debited.",
        "mandate_version": "Mandate text version {version}",
        "mandate_consent": "I give this mandate",
        "mandate_submit": "Sign the mandate",
        "mandate_done": "Direct debit mandate {reference} for the account ending {tail}: each instalment is "
        "collected on its date.",
        "mandate_error_consent": "Please tick the box to give the mandate.",
        "mandate_error_iban": "This IBAN is not valid. Please check it.",
        "mandate_error_plan": "A mandate cannot be given for this plan.",
    },
    "nl": {
        "mandate_heading": "Betalen via domiciliëring",
        "mandate_intro": "Laat ons elke termijn op zijn vervaldag van uw rekening innen: dan hoeft u niets te doen.",
        "mandate_iban": "Uw IBAN",
        "mandate_holder": "Rekeninghouder (als u het niet bent)",
        "mandate_text": "Door dit vakje aan te vinken geeft u {creditor} toestemming om opdrachten te sturen naar "
        "uw bank om uw rekening te debiteren, en uw bank om uw rekening te debiteren volgens die opdrachten "
        "(SEPA Core). U hebt recht op terugbetaling door uw bank volgens de voorwaarden van uw overeenkomst met "
        "haar; vraag die binnen 8 weken na de debitering van uw rekening aan.",
        "mandate_version": "Mandaattekst versie {version}",
        "mandate_consent": "Ik geef dit mandaat",
        "mandate_submit": "Het mandaat ondertekenen",
        "mandate_done": "Domiciliëringsmandaat {reference} voor de rekening eindigend op {tail}: elke termijn "
        "wordt op zijn vervaldag geïnd.",
        "mandate_error_consent": "Vink het vakje aan om het mandaat te geven.",
        "mandate_error_iban": "Dit IBAN is niet geldig. Controleer het.",
        "mandate_error_plan": "Voor deze regeling kan geen mandaat worden gegeven.",
    },
    "fr": {
        "mandate_heading": "Payer par domiciliation",
        "mandate_intro": "Laissez-nous prélever chaque mensualité sur votre compte à son échéance : vous n'avez "
        "plus rien à faire.",
        "mandate_iban": "Votre IBAN",
        "mandate_holder": "Titulaire du compte (si ce n'est pas vous)",
        "mandate_text": "En cochant cette case, vous autorisez {creditor} à envoyer des instructions à votre banque "
        "pour débiter votre compte, et votre banque à débiter votre compte conformément à ces instructions "
        "(SEPA Core). Vous bénéficiez d'un droit au remboursement par votre banque selon les conditions de votre "
        "convention avec elle ; la demande doit être présentée dans les 8 semaines suivant le débit.",
        "mandate_version": "Texte du mandat version {version}",
        "mandate_consent": "Je donne ce mandat",
        "mandate_submit": "Signer le mandat",
        "mandate_done": "Mandat de domiciliation {reference} pour le compte se terminant par {tail} : chaque "
        "mensualité est prélevée à son échéance.",
        "mandate_error_consent": "Veuillez cocher la case pour donner le mandat.",
        "mandate_error_iban": "Cet IBAN n'est pas valide. Veuillez le vérifier.",
        "mandate_error_plan": "Aucun mandat ne peut être donné pour ce plan.",
    },
    "de": {
        "mandate_heading": "Per Lastschrift zahlen",
        "mandate_intro": "Lassen Sie uns jede Rate zum Termin von Ihrem Konto einziehen: dann müssen Sie nichts tun.",
        "mandate_iban": "Ihre IBAN",
        "mandate_holder": "Kontoinhaber (falls nicht Sie)",
        "mandate_text": "Mit diesem Häkchen ermächtigen Sie {creditor}, Zahlungen von Ihrem Konto mittels "
        "Lastschrift einzuziehen, und weisen Ihr Kreditinstitut an, die Lastschriften einzulösen (SEPA-Basis). "
        "Sie können innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die Erstattung des belasteten "
        "Betrages verlangen; es gelten die mit Ihrem Kreditinstitut vereinbarten Bedingungen.",
        "mandate_version": "Mandatstext Version {version}",
        "mandate_consent": "Ich erteile dieses Mandat",
        "mandate_submit": "Mandat erteilen",
        "mandate_done": "Lastschriftmandat {reference} für das Konto mit der Endung {tail}: jede Rate wird zum "
        "Termin eingezogen.",
        "mandate_error_consent": "Bitte setzen Sie das Häkchen, um das Mandat zu erteilen.",
        "mandate_error_iban": "Diese IBAN ist nicht gültig. Bitte prüfen Sie sie.",
        "mandate_error_plan": "Für diesen Plan kann kein Mandat erteilt werden.",
    },
}
