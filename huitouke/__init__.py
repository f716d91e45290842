"""Huitouke (回头客): the CRM that turns one-time online buyers into returning customers."""
