"""Words of the forms: the page a refused form gets (see :mod:`dunning.web.forms`)."""

TEXTS = {
    "en": {
        "forbidden_title": "This form could not be accepted",
        "forbidden_text": "Please open the link from our letter or message again and fill in the form there.",
        "send": "Send",
    },
    "nl": {
        "forbidden_title": "Dit formulier kon niet worden aanvaard",
        "forbidden_text": "Open de link uit onze brief of ons bericht opnieuw en vul het formulier daar in.",
        "send": "Versturen",
    },
    "fr": {
        "forbidden_title": "Ce formulaire n'a pas pu être accepté",
        "forbidden_text": "Veuillez rouvrir le lien de notre lettre ou de notre message et remplir le formulaire "
        "à cet endroit.",
        "send": "Envoyer",
    },
    "de": {
        "forbidden_title": "Dieses Formular konnte nicht angenommen werden",
        "forbidden_text": "Bitte öffnen Sie den Link aus unserem Brief oder unserer Nachricht erneut und füllen "
        "Sie das Formular dort aus.",
        "send": "Senden",
    },
}
