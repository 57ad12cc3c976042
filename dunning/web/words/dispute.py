"""Words of the questions-and-disputes form (:mod:`dunning.web.dispute`) and of its acknowledgement."""

TEXTS = {
    "en": {
        "dispute_heading": "A question or a problem with this claim?",
        "dispute_intro": "Tell us here. A person from {creditor} will look at it.",
        "dispute_link": "Ask a question or dispute this claim",
        "dispute_reason": "What is it about?",
        "reason_already_paid": "I have already paid",
        "reason_wrong_amount": "The amount is wrong",
        "reason_not_mine": "This is not my invoice",
        "reason_need_time": "I need more time to pay",
        "reason_other": "Something else",
        "dispute_text": "Your message (optional, required for something else; at most {max} characters)",
        "dispute_error": "Please choose what it is about, and write a message of at most {max} characters "
        "(a message is needed for something else).",
        "dispute_sent_title": "We have received your message",
        "dispute_sent_held": "Received on {date}. We send no further reminders for this file until a person "
        "from {creditor} has looked at your message and answered you.",
        "dispute_sent_question": "Received on {date}. A person from {creditor} will answer your question. "
        "Until then, the payment details on this page stay valid.",
        "dispute_limit": "This link has already sent the most messages it can. Please contact {creditor} "
        "directly.",
        "back_to_page": "Back to the payment page",
    },
    "nl": {
        "dispute_heading": "Een vraag of een probleem met deze vordering?",
        "dispute_intro": "Laat het ons hier weten. Een medewerker van {creditor} bekijkt het.",
        "dispute_link": "Stel een vraag of betwist deze vordering",
        "dispute_reason": "Waarover gaat het?",
        "reason_already_paid": "Ik heb al betaald",
        "reason_wrong_amount": "Het bedrag klopt niet",
        "reason_not_mine": "Dit is niet mijn factuur",
        "reason_need_time": "Ik heb meer tijd nodig om te betalen",
        "reason_other": "Iets anders",
        "dispute_text": "Uw bericht (niet verplicht, wel bij iets anders; hoogstens {max} tekens)",
        "dispute_error": "Kies waarover het gaat en schrijf een bericht van hoogstens {max} tekens "
        "(bij iets anders is een bericht nodig).",
        "dispute_sent_title": "We hebben uw bericht ontvangen",
        "dispute_sent_held": "Ontvangen op {date}. We sturen voor dit dossier geen herinneringen meer tot een "
        "medewerker van {creditor} uw bericht heeft bekeken en u heeft geantwoord.",
        "dispute_sent_question": "Ontvangen op {date}. Een medewerker van {creditor} beantwoordt uw vraag. "
        "Tot dan blijven de betaalgegevens op deze pagina geldig.",
        "dispute_limit": "Via deze link zijn al zoveel berichten verstuurd als mogelijk is. Neem rechtstreeks "
        "contact op met {creditor}.",
        "back_to_page": "Terug naar de betaalpagina",
    },
    "fr": {
        "dispute_heading": "Une question ou un problème avec cette créance ?",
        "dispute_intro": "Dites-le-nous ici. Une personne de {creditor} l'examinera.",
        "dispute_link": "Poser une question ou contester cette créance",
        "dispute_reason": "De quoi s'agit-il ?",
        "reason_already_paid": "J'ai déjà payé",
        "reason_wrong_amount": "Le montant est erroné",
        "reason_not_mine": "Ce n'est pas ma facture",
        "reason_need_time": "J'ai besoin de plus de temps pour payer",
        "reason_other": "Autre chose",
        "dispute_text": "Votre message (facultatif, obligatoire pour autre chose ; {max} caractères au plus)",
        "dispute_error": "Veuillez choisir de quoi il s'agit et écrire un message de {max} caractères au plus "
        "(un message est nécessaire pour autre chose).",
        "dispute_sent_title": "Nous avons bien reçu votre message",
        "dispute_sent_held": "Reçu le {date}. Nous n'envoyons plus de rappel pour ce dossier tant qu'une "
        "personne de {creditor} n'a pas examiné votre message et ne vous a pas répondu.",
        "dispute_sent_question": "Reçu le {date}. Une personne de {creditor} répondra à votre question. "
        "D'ici là, les données de paiement de cette page restent valables.",
        "dispute_limit": "Ce lien a déjà envoyé autant de messages que possible. Veuillez contacter "
        "{creditor} directement.",
        "back_to_page": "Retour à la page de paiement",
    },
    "de": {
        "dispute_heading": "Eine Frage oder ein Problem mit dieser Forderung?",
        "dispute_intro": "Teilen Sie es uns hier mit. Eine Person von {creditor} sieht es sich an.",
        "dispute_link": "Eine Frage stellen oder diese Forderung bestreiten",
        "dispute_reason": "Worum geht es?",
        "reason_already_paid": "Ich habe bereits bezahlt",
        "reason_wrong_amount": "Der Betrag stimmt nicht",
        "reason_not_mine": "Das ist nicht meine Rechnung",
        "reason_need_time": "Ich brauche mehr Zeit zum Bezahlen",
        "reason_other": "Etwas anderes",
        "dispute_text": "Ihre Nachricht (freiwillig, bei etwas anderem nötig; höchstens {max} Zeichen)",
        "dispute_error": "Bitte wählen Sie, worum es geht, und schreiben Sie eine Nachricht mit höchstens "
        "{max} Zeichen (bei etwas anderem ist eine Nachricht nötig).",
        "dispute_sent_title": "Wir haben Ihre Nachricht erhalten",
        "dispute_sent_held": "Erhalten am {date}. Wir senden für diesen Vorgang keine Mahnungen mehr, bis "
        "eine Person von {creditor} Ihre Nachricht geprüft und Ihnen geantwortet hat.",
        "dispute_sent_question": "Erhalten am {date}. Eine Person von {creditor} beantwortet Ihre Frage. "
        "Bis dahin bleiben die Zahlungsdaten auf dieser Seite gültig.",
        "dispute_limit": "Über diesen Link wurden bereits so viele Nachrichten gesendet wie möglich. Bitte "
        "wenden Sie sich direkt an {creditor}.",
        "back_to_page": "Zurück zur Zahlungsseite",
    },
}
