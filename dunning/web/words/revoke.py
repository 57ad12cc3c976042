"""Words of the page a revoked link gets (:mod:`dunning.usecases.paypage.revoke`): not "expired", not
"invalid": the link was genuine, and the debtor should turn to the creditor, not pay through it."""

TEXTS = {
    "en": {
        "revoked_title": "This payment link is no longer in use",
        "revoked_text": "{creditor} has withdrawn this link: do not pay with the details from it. Please contact "
        "{creditor} to hear what is still open on your file and how to pay it.",
    },
    "nl": {
        "revoked_title": "Deze betaallink wordt niet meer gebruikt",
        "revoked_text": "{creditor} heeft deze link ingetrokken: betaal niet met de gegevens ervan. Neem contact op "
        "met {creditor} om te horen wat er nog openstaat in uw dossier en hoe u het betaalt.",
    },
    "fr": {
        "revoked_title": "Ce lien de paiement n'est plus utilisé",
        "revoked_text": "{creditor} a retiré ce lien : ne payez pas avec les données qu'il indique. Contactez "
        "{creditor} pour savoir ce qui reste ouvert dans votre dossier et comment le payer.",
    },
    "de": {
        "revoked_title": "Dieser Zahlungslink wird nicht mehr verwendet",
        "revoked_text": "{creditor} hat diesen Link zurückgezogen: Bitte zahlen Sie nicht mit den Angaben daraus. "
        "Wenden Sie sich an {creditor}, um zu erfahren, was in Ihrer Akte noch offen ist und wie Sie es bezahlen.",
    },
}
