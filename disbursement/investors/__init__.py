"""The investor round-trip: ask each chủ đầu tư for its figures, read the replies back.

`requests` writes one workbook per investor for a round (`workbook.write_request`) and a
covering letter; `replies` reads the returned workbooks (`replies.read_reply`), matches every
answer to its line by the key the request carried, and `apply` puts the answered figures into
a review as dated evidence. Wording lives in `rules/investors.yaml`.
"""
