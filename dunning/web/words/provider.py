"""Words of paying online (the "Pay online" button, the return from the provider) and of the Swiss QR-bill."""

TEXTS = {
    "en": {
        "online_heading": "Pay online",
        "online_button": "Pay online ({methods})",
        "online_card": "card",
        "online_hint": "You pay {amount} on our payment provider's secure page and come back here.",
        "online_paid_title": "Thank you: your payment was received",
        "online_paid_text": "Your online payment has been received and booked. There is nothing more to do.",
        "online_processing_title": "Your payment is being processed",
        "online_processing_text": "We will book it as soon as the payment provider confirms it. "
        "You do not need to pay again.",
        "online_unpaid_title": "No payment was made",
        "online_unpaid_text": "The online payment was not completed. Open the link from our letter or message "
        "again to pay online or by bank transfer.",
        "online_unknown_title": "This payment is not known",
        "online_unknown_text": "Please open the link from our letter or message again, or contact {creditor}.",
        "online_error_title": "Online payment is not available right now",
        "online_error_text": "Please try again later or pay by bank transfer with the details on the page.",
        "qrbill_alt": "Swiss QR-bill: {amount} to {creditor}, account {iban}, reference {reference}",
        "qrbill_scan": "Scan the QR code of this payment part with your banking app.",
    },
    "nl": {
        "online_heading": "Online betalen",
        "online_button": "Online betalen ({methods})",
        "online_card": "kaart",
        "online_hint": "U betaalt {amount} op de beveiligde pagina van onze betaaldienst en komt daarna hier terug.",
        "online_paid_title": "Bedankt: uw betaling is ontvangen",
        "online_paid_text": "Uw online betaling is ontvangen en geboekt. U hoeft niets meer te doen.",
        "online_processing_title": "Uw betaling wordt verwerkt",
        "online_processing_text": "We boeken ze zodra de betaaldienst ze bevestigt. U hoeft niet opnieuw te betalen.",
        "online_unpaid_title": "Er werd niet betaald",
        "online_unpaid_text": "De online betaling werd niet afgerond. Open de link uit onze brief of ons bericht "
        "opnieuw om online of met een overschrijving te betalen.",
        "online_unknown_title": "Deze betaling is niet bekend",
        "online_unknown_text": "Open de link uit onze brief of ons bericht opnieuw, of neem contact op met {creditor}.",
        "online_error_title": "Online betalen kan nu niet",
        "online_error_text": "Probeer het later opnieuw of betaal met een overschrijving met de gegevens op de pagina.",
        "qrbill_alt": "Zwitserse QR-factuur: {amount} aan {creditor}, rekening {iban}, referentie {reference}",
        "qrbill_scan": "Scan de QR-code van dit betaalgedeelte met uw bankapp.",
    },
    "fr": {
        "online_heading": "Payer en ligne",
        "online_button": "Payer en ligne ({methods})",
        "online_card": "carte",
        "online_hint": "Vous payez {amount} sur la page sécurisée de notre prestataire de paiement, puis revenez ici.",
        "online_paid_title": "Merci : votre paiement a été reçu",
        "online_paid_text": "Votre paiement en ligne a été reçu et comptabilisé. Vous n'avez plus rien à faire.",
        "online_processing_title": "Votre paiement est en cours de traitement",
        "online_processing_text": "Nous le comptabiliserons dès que le prestataire de paiement l'aura confirmé. "
        "Vous ne devez pas payer une seconde fois.",
        "online_unpaid_title": "Aucun paiement n'a été effectué",
        "online_unpaid_text": "Le paiement en ligne n'a pas abouti. Rouvrez le lien de notre lettre ou de notre "
        "message pour payer en ligne ou par virement.",
        "online_unknown_title": "Ce paiement est inconnu",
        "online_unknown_text": "Veuillez rouvrir le lien de notre lettre ou de notre message, ou contacter {creditor}.",
        "online_error_title": "Le paiement en ligne n'est pas disponible pour le moment",
        "online_error_text": "Veuillez réessayer plus tard ou payer par virement avec les données de la page.",
        "qrbill_alt": "QR-facture suisse : {amount} à {creditor}, compte {iban}, référence {reference}",
        "qrbill_scan": "Scannez le code QR de cette section paiement avec votre application bancaire.",
    },
    "de": {
        "online_heading": "Online bezahlen",
        "online_button": "Online bezahlen ({methods})",
        "online_card": "Karte",
        "online_hint": "Sie bezahlen {amount} auf der sicheren Seite unseres Zahlungsdienstes und kommen danach "
        "hierher zurück.",
        "online_paid_title": "Danke: Ihre Zahlung ist eingegangen",
        "online_paid_text": "Ihre Online-Zahlung ist eingegangen und verbucht. Sie müssen nichts mehr tun.",
        "online_processing_title": "Ihre Zahlung wird bearbeitet",
        "online_processing_text": "Wir verbuchen sie, sobald der Zahlungsdienst sie bestätigt. "
        "Sie müssen nicht erneut bezahlen.",
        "online_unpaid_title": "Es wurde nicht bezahlt",
        "online_unpaid_text": "Die Online-Zahlung wurde nicht abgeschlossen. Öffnen Sie den Link aus unserem Brief "
        "oder unserer Nachricht erneut, um online oder per Überweisung zu bezahlen.",
        "online_unknown_title": "Diese Zahlung ist nicht bekannt",
        "online_unknown_text": "Bitte öffnen Sie den Link aus unserem Brief oder unserer Nachricht erneut, oder "
        "wenden Sie sich an {creditor}.",
        "online_error_title": "Online bezahlen ist gerade nicht möglich",
        "online_error_text": "Bitte versuchen Sie es später erneut oder überweisen Sie mit den Angaben auf der Seite.",
        "qrbill_alt": "Schweizer QR-Rechnung: {amount} an {creditor}, Konto {iban}, Referenz {reference}",
        "qrbill_scan": "Scannen Sie den QR-Code dieses Zahlteils mit Ihrer Banking-App.",
    },
}
