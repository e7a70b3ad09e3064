"""The admin area of the staff workspace: staff accounts, teams and routing, cadences, the
questionnaire, mail, audit and retention."""
