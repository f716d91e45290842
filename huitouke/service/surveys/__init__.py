"""Satisfaction surveys (CSAT) after each resolution of a ticket.

- services: send a survey (after a resolution, or on demand), record the customer's answer (a low rating reopens
  the ticket to its first owner or opens a recovery ticket, and alerts the managers), mark praise, the shop's
  settings and extra questions;
- selectors: the survey of a ticket, the figures of the results page, `csat_by_ticket` and `csat_by_agent`
  for the recovery and staff reports;
- figures: the pure arithmetic (average, distribution, NPS, response rate);
- views (public survey page), staff_views (results, settings, praise), links (the signed token).
"""
