"""Standard Webhooks, both ways: signing and verifying (``signing``), the event shape (``events``), one signed
POST with retries (``posting``), and the outbound delivery worker (``delivery``, ``outbox``, ``metrics``).

Every signature is made and checked by the ``standardwebhooks`` library (OpenAI's scheme: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature``), never by code of ours.
"""
