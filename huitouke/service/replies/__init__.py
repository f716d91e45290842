"""The canned-reply library of the service desk (话术库) and the wording check.

Pure modules: `variables` (which variables a reply uses, filling them from a context, refusing a blank),
`wording` (the shop's gentle wording hints), `search` (pinyin initials). Then `models`, `services` (writes),
`selectors` (reads, the live context of a ticket/customer/order), `links` (the self-service link provider),
`starter` (the shipped library), `views`, `api`.
"""
