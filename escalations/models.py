# Escalation cases arrive with the distress-escalation issue; the app exists now so the layout is
# the one newcomers will find.
